"""Command-line tools: `flask demo seed`, `flask codes prune`, `flask spi sign`, `flask devmail sink`,
`flask usage simulate`, `flask metering push | failed | reconcile`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

demo = AppGroup("demo", help="Demo data for manual walkthroughs.")
spi = AppGroup("spi", help="Marketplace SPI tools for integrators.")
codes = AppGroup("codes", help="Verification codes.")
devmail = AppGroup("devmail", help="The development mailbox (development and testing only).")
usage = AppGroup("usage", help="Usage per workspace and hour.")
metering = AppGroup("metering", help="Usage pushed to the marketplace (PushMeteringData), billed once.")


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


def _market_api():
    from .services.market_api import MarketApi, MarketApiSettings, NotConfigured

    try:
        return MarketApi(MarketApiSettings.from_config(current_app.config))
    except NotConfigured as error:
        raise click.ClickException(str(error)) from None


def _push_round(api) -> None:
    from . import clock
    from .services.metering import MeteringSettings, push_due

    report = push_due(clock.now(), MeteringSettings.from_config(current_app.config), api)
    click.echo(
        f"closed {report.closed} hours; {report.requests} requests; pushed {report.pushed}, failed {report.failed}, "
        f"waiting {report.waiting}; {report.busy} instances busy or throttled"
    )
    for error in report.errors:
        click.echo(f"  retry later: {error}")


@metering.command("push")
@click.option(
    "--every", type=click.IntRange(min=10), help="repeat every N seconds until stopped (until the task queue runs it)"
)
@with_appcontext
def push(every: int | None) -> None:
    """Push every closed hour not yet accepted; run it (or the periodic job) every minute."""
    api = _market_api()
    if every is None:
        _push_round(api)
        return
    _repeat(every, lambda: _push_round(api))


def _repeat(seconds: int, work) -> None:
    import signal
    import threading

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.is_set():
        try:
            work()
        except Exception as error:  # a round that failed (database down ...) must not end the loop
            current_app.logger.exception("metering push round failed")
            click.echo(f"push round failed: {error}", err=True)
        from .extensions import db

        db.session.remove()
        stopped.wait(seconds)


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
    from .services.market_api import MarketApiError
    from .services.metering import reconcile

    end = clock.now()
    try:
        differences = reconcile(end - timedelta(days=days), end, _market_api())
    except MarketApiError as error:
        raise click.ClickException(f"the marketplace could not be asked: {error}") from None
    for difference in differences:
        click.echo(str(difference))
    click.echo(f"{len(differences)} differences.")
    if differences:
        raise SystemExit(1)


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(usage)
    app.cli.add_command(metering)
    app.cli.add_command(codes)
    app.cli.add_command(spi)
    if app.config["DEV_MAILBOX"]:
        app.cli.add_command(devmail)
