"""Command-line tools: `flask demo seed`, `flask codes prune`, `flask lifecycle run`, `flask spi sign`,
`flask devmail sink`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

demo = AppGroup("demo", help="Demo data for manual walkthroughs.")
spi = AppGroup("spi", help="Marketplace SPI tools for integrators.")
codes = AppGroup("codes", help="Verification codes.")
devmail = AppGroup("devmail", help="The development mailbox (development and testing only).")
lifecycle = AppGroup("lifecycle", help="After activation: expiry, lock countdown, reminders.")


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
    """Delete verification codes no rule needs any more; run it from cron (hourly is plenty)."""
    from .services.codes import prune

    click.echo(f"Deleted {prune()} verification codes.")


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


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(codes)
    app.cli.add_command(lifecycle)
    app.cli.add_command(spi)
    if app.config["DEV_MAILBOX"]:
        app.cli.add_command(devmail)
