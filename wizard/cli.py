"""Command-line tools: `flask demo seed`, `flask codes prune`, `flask spi sign`, the queue's `flask queue ...`
(`flask queue worker` is make run's worker) and `flask devmail sink` (make run's SMTP sink)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

demo = AppGroup("demo", help="Demo data for manual walkthroughs.")
spi = AppGroup("spi", help="Marketplace SPI tools for integrators.")
codes = AppGroup("codes", help="Verification codes.")
queue = AppGroup("queue", help="The task queue: the worker, its state, failed tasks, periodic jobs.")
devmail = AppGroup("devmail", help="The development mailbox (development and testing only).")


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

    run_worker(current_app._get_current_object(), workers, periodic)


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

    try:
        row = failed_tasks.retry(failed_id)
    except failed_tasks.RetryRefused as refusal:
        raise click.ClickException(str(refusal.message)) from None
    click.echo(f"Queued {row.name}{tuple(row.args)!r} again.")


@queue.command("jobs")
def queue_jobs() -> None:
    """List the periodic jobs and their schedules (UTC)."""
    from .tasks import PERIODIC_JOBS

    for name, job in PERIODIC_JOBS.items():
        click.echo(f"{name:<28} {job.when:<16} {job.function.__doc__.strip()}")


@queue.command("run")
@click.argument("name")
def queue_run(name: str) -> None:
    """Run the periodic job NAME now, in this process (see `flask queue jobs`)."""
    from .tasks import PERIODIC_JOBS, run_periodic

    if name not in PERIODIC_JOBS:
        raise click.ClickException(f"no periodic job {name!r}; see `flask queue jobs`")
    click.echo(run_periodic(name))


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


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(codes)
    app.cli.add_command(queue)
    app.cli.add_command(spi)
    if app.config["DEV_MAILBOX"]:
        app.cli.add_command(devmail)
