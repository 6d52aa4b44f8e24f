"""Command-line tools: `flask demo seed` and `flask serve` (what `make run` starts)."""

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
limits = AppGroup("limits", help="Per-IP rate-limit counters and per-account login attempts.")


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
    """Delete verification codes no rule needs any more; run it from cron (hourly is plenty)."""
    from .services.codes import prune

    click.echo(f"Deleted {prune()} verification codes.")


@limits.command("prune")
def prune_limits() -> None:
    """Delete windows that are over and login attempts older than an hour; run it from cron (hourly)."""
    from .rate_limits import DatabaseStorage
    from .services import login_throttle

    windows = 0 if current_app.config["REDIS_URL"] else DatabaseStorage("database://").prune()
    click.echo(f"Deleted {windows} rate-limit windows and {login_throttle.prune()} login attempts.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(codes)
    app.cli.add_command(limits)
    app.cli.add_command(spi)
    app.cli.add_command(serve)
