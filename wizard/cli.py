"""Command-line tools: `flask demo seed`, `flask serve` (what `make run` starts) and the queue's `flask queue ...`."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

demo = AppGroup("demo", help="Demo data for manual walkthroughs.")
spi = AppGroup("spi", help="Marketplace SPI tools for integrators.")
codes = AppGroup("codes", help="Verification codes.")
queue = AppGroup("queue", help="The task queue: the worker, its state, failed tasks, periodic jobs.")


@demo.command("seed")
def seed() -> None:
    """Create the demo buyers and accounts (idempotent) and print their credentials."""
    from .blueprints.market.demo import seed_market
    from .services.demo import seed_guance

    buyers = seed_market()
    logins = seed_guance()
    click.echo("Marketplace buyers (switch at /market/ or open /market/?aliUid=<id>):")
    for ali_uid, name in buyers:
        click.echo(f"  aliUid {ali_uid}  {name}")
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

    from .spi_token import sign as sign_params

    params = dict(parse_qsl(query, keep_blank_values=True))
    click.echo(sign_params(params, key or current_app.config["ISV_KEY"]))


@click.command("serve")
@click.option("--port", envvar="PORT", default=5000, show_default=True, type=int)
@click.option("--workers", envvar="WEB_CONCURRENCY", default=2, show_default=True, type=int)
@click.option("--threads", envvar="WEB_THREADS", default=4, show_default=True, type=int)
@with_appcontext
def serve(port: int, workers: int, threads: int) -> None:
    """Serve with gunicorn on 127.0.0.1, with a local SMTP sink unless MAIL_SERVER is set."""
    from .blueprints.devmail.mailbox import start_sink

    environ = dict(os.environ)
    sink = None
    if not os.environ.get("MAIL_SERVER"):
        mail_port = current_app.config["MAIL_PORT"]
        sink = start_sink(current_app.config["DEV_MAILBOX_DIR"], port=mail_port)
        environ.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(mail_port))
        click.echo(f"SMTP sink on 127.0.0.1:{mail_port}; messages at http://127.0.0.1:{port}/dev/mail")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "wsgi:app",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--access-logfile",
        "-",
        "--no-control-socket",
    ]
    gunicorn = subprocess.Popen(command, env=environ)
    try:
        gunicorn.wait()
    except KeyboardInterrupt:
        gunicorn.terminate()
        gunicorn.wait()
    finally:
        if sink is not None:
            sink.stop()


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


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(codes)
    app.cli.add_command(queue)
    app.cli.add_command(spi)
    app.cli.add_command(serve)
