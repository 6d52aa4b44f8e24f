"""Command-line tools: `flask demo seed`, `flask codes prune`, `flask lifecycle run`, `flask spi sign`, the
queue's `flask queue ...` (`flask queue worker` is make run's worker), `flask devmail sink` (make run's SMTP sink),
`flask usage simulate`, `flask metering push | failed | reconcile`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .extensions import CommandGroup

demo = CommandGroup("demo", help="Demo data for manual walkthroughs.")
spi = CommandGroup("spi", help="Marketplace SPI tools for integrators.")
codes = CommandGroup("codes", help="Verification codes.")
queue = CommandGroup("queue", help="The task queue: the worker, its state, failed tasks, periodic jobs.")
devmail = CommandGroup("devmail", help="The development mailbox (development and testing only).")
usage = CommandGroup("usage", help="Usage per workspace and hour.")
metering = CommandGroup("metering", help="Usage pushed to the marketplace (PushMeteringData), billed once.")
lifecycle = CommandGroup("lifecycle", help="After activation: expiry, lock countdown, reminders.")
limits = CommandGroup("limits", help="Per-IP rate-limit counters and per-account login attempts.")


@demo.command("seed")
def seed() -> None:
    """Create the demo buyers and accounts (idempotent) and print their credentials."""
    from .services.demo import seed_guance

    logins = seed_guance()
    click.echo("Guance side (site 中国区1（杭州）):")
    for login in logins:
        click.echo(
            f"  {login.kind:<24} {login.username:<20} {login.email:<30} password {login.password}  ({login.note})"
        )
    if current_app.config["APP_ENV"] != "production":  # a known password and TOTP secret: never there
        from .services.ops import operators

        operators.seed_demo()
        click.echo(
            f"Operators' console {current_app.config['PUBLIC_BASE_URL']}/ops/: {operators.DEMO_USERNAME} password "
            f"{operators.DEMO_PASSWORD}, TOTP secret {operators.DEMO_TOTP_SECRET} "
            f"(current code: .venv/bin/flask --app wsgi ops totp {operators.DEMO_USERNAME})"
        )


@spi.command("sign")
@click.argument("query")
@click.option("--key", help="ISV key (default: the configured ISV_KEY).")
def sign(query: str, key: str | None) -> None:
    """Print the token for QUERY, e.g. 'action=verify&instanceId=...&timeStamp=2026-11-26 10:00:00'."""
    from urllib.parse import parse_qsl

    from protocol.spi import sign as sign_params

    params = dict(parse_qsl(query, keep_blank_values=True))
    click.echo(sign_params(params, key or current_app.config["ISV_KEY"]))


@codes.command("prune")
def prune_codes() -> None:
    """Delete verification codes no rule needs any more (the worker does it hourly: prune_codes)."""
    from .tasks import run_periodic

    click.echo(run_periodic("prune_codes"))


@queue.command("worker")
@click.option("--workers", envvar="QUEUE_WORKERS", default=2, show_default=True, type=int, help="Worker threads.")
@click.option(
    "--periodic/--no-periodic", default=True, show_default=True, help="Also run the periodic jobs (on one worker only)."
)
def queue_worker(workers: int, periodic: bool) -> None:
    """Run one worker: queued mail with its retries, and the periodic jobs. SIGTERM finishes the tasks in hand."""
    from .tasks import run_worker

    run_worker(current_app._get_current_object(), workers, periodic)  # type: ignore[attr-defined]  # current_app is a LocalProxy


@queue.command("status")
def queue_status() -> None:
    """Print the number of waiting, scheduled, retrying and failed tasks."""
    from .tasks import status

    state = status()
    for label, number in (
        ("waiting", state.waiting),
        ("scheduled", state.scheduled),
        ("retrying", state.retrying),
        ("failed", state.failed),
    ):
        click.echo(f"{label:<10} {number}")


@queue.command("failed")
@click.option("--limit", default=100, show_default=True, type=int)
def queue_failed(limit: int) -> None:
    """List the failed tasks, the most recent first: id, task, arguments, attempts, last error."""
    from .services import failed_tasks

    for row in failed_tasks.failed(limit):
        click.echo(
            f"{row.id}\t{row.name}{tuple(row.args)!r}\t{row.attempts} attempts\t{row.last_failed_at:%Y-%m-%d %H:%M:%S}Z"
        )
        click.echo(f"\t{row.error}")


@queue.command("retry")
@click.argument("failed_id", type=int)
def queue_retry(failed_id: int) -> None:
    """Queue the failed task FAILED_ID again, with all its retries."""
    from .services import failed_tasks
    from .services.refusals import Refused

    try:
        row = failed_tasks.retry(failed_id)
    except Refused as refusal:
        raise click.ClickException(str(refusal.message)) from None
    click.echo(f"Queued {row.name}{tuple(row.args)!r} again.")


@queue.command("jobs")
def queue_jobs() -> None:
    """List the periodic jobs and their schedules (UTC)."""
    from .tasks import PERIODIC_JOBS

    for name, job in PERIODIC_JOBS.items():
        summary = " ".join((job.function.__doc__ or "").split())
        click.echo(f"{name:<28} {job.when:<16} {summary}")


@queue.command("run")
@click.argument("name")
def queue_run(name: str) -> None:
    """Run the periodic job NAME now, in this process (see `flask queue jobs`)."""
    from .tasks import PERIODIC_JOBS, run_periodic

    if name not in PERIODIC_JOBS:
        raise click.ClickException(f"no periodic job {name!r}; see `flask queue jobs`")
    click.echo(run_periodic(name))


@lifecycle.command("run")
def run_lifecycle() -> None:
    """Expire overdue instances, send lock reminders, lock and wipe workspaces whose countdown ended, prune
    used unlock links. Safe to run at any time; run it every few minutes (cron, or the task queue)."""
    from .services.lifecycle import run_periodic

    done = run_periodic()
    click.echo(
        f"Expired {done.expired} instances, sent {done.reminded} reminders, locked {done.locked} workspaces, "
        f"pruned {done.links_pruned} used unlock links."
    )


@devmail.command("sink")
@click.option("--port", envvar="MAIL_PORT", default=8025, show_default=True, type=int)
@with_appcontext
def sink(port: int) -> None:
    """Receive mail on 127.0.0.1:PORT into DEV_MAILBOX_DIR (shown at /dev/mail) until stopped."""
    import signal
    import threading

    from .blueprints.devmail.mailbox import start_sink

    directory = current_app.config["DEV_MAILBOX_DIR"]
    controller = start_sink(directory, port=port)
    click.echo(f"SMTP sink on 127.0.0.1:{port}, messages in {directory} and at /dev/mail")
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


@usage.command("simulate")
@click.option("--hours", type=click.IntRange(1, 24 * 31), default=3, show_default=True, help="closed hours to fill")
@click.option("--seed", type=int, default=2026, show_default=True, help="same seed, same numbers")
@click.option(
    "--workspace", "workspaces", type=int, multiple=True, help="workspace id (default: every Aliyun-settled one)"
)
def simulate_usage(hours: int, seed: int, workspaces: tuple[int, ...]) -> None:
    """Record demo usage for the last HOURS closed hours (hours already recorded stay as they are)."""
    from . import clock
    from .services.usage import simulate

    result = simulate(hours, seed, clock.now(), list(workspaces) or None)
    click.echo(f"{result.recorded} usage records added ({result.workspaces} workspaces x {result.hours} hours).")


@metering.command("push")
def push() -> None:
    """Push every closed hour not yet accepted, once (the worker's periodic job push_metering does it every minute)."""
    from .services.market_api import NotConfigured
    from .services.metering import push_now

    try:
        click.echo(str(push_now()))
    except NotConfigured as error:
        raise click.ClickException(str(error)) from None


@metering.command("failed")
def failed() -> None:
    """List the hours that are 推送失败, with the reason."""
    from .services.metering import failed_hours

    hours = failed_hours()
    for hour in hours:
        when = f"{hour.hour_start:%Y-%m-%d %H:%M}Z"
        click.echo(f"{hour.instance.instance_id}  workspace {hour.workspace_id}  {when}  {hour.last_error}")
    click.echo(f"{len(hours)} hours failed.")


@metering.command("reconcile")
@click.option(
    "--days", type=click.IntRange(1, 400), default=35, show_default=True, help="hours started in the last N days"
)
def reconcile_command(days: int) -> None:
    """Compare what Guance believes was accepted with what the marketplace billed; exit 1 on any difference."""
    from datetime import timedelta

    from . import clock
    from .services.market_api import MarketApi, MarketApiError, MarketApiSettings, NotConfigured
    from .services.metering import reconcile

    end = clock.now()
    try:
        api = MarketApi(MarketApiSettings.from_config(current_app.config))
        differences = reconcile(end - timedelta(days=days), end, api)
    except NotConfigured as error:
        raise click.ClickException(str(error)) from None
    except MarketApiError as error:
        raise click.ClickException(f"the marketplace could not be asked: {error}") from None
    for difference in differences:
        click.echo(str(difference))
    click.echo(f"{len(differences)} differences.")
    if differences:
        raise SystemExit(1)


@limits.command("prune")
def prune_limits() -> None:
    """Delete windows that are over and login attempts older than an hour; run it from cron (hourly)."""
    from .rate_limits import DatabaseStorage
    from .services import login_throttle

    windows = 0 if current_app.config["REDIS_URL"] else DatabaseStorage("database://").prune()
    click.echo(f"Deleted {windows} rate-limit windows and {login_throttle.prune()} login attempts.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(usage)
    app.cli.add_command(metering)
    app.cli.add_command(codes)
    app.cli.add_command(queue)
    app.cli.add_command(lifecycle)
    app.cli.add_command(limits)
    app.cli.add_command(spi)
    if app.config["DEV_MAILBOX"]:
        app.cli.add_command(devmail)
