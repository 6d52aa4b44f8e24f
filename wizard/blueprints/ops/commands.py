"""`flask ops ...`: operators are created from the command line, never from a page."""

from __future__ import annotations

import click
from flask import current_app

from ...extensions import CommandGroup

ops = CommandGroup("ops", help="The operators' console: operator accounts and their TOTP.")


@ops.command("create-operator")
@click.argument("username")
@click.password_option(help="The operator's password (asked twice when not given).")
def create_operator(username: str, password: str) -> None:
    """Create operator USERNAME; prints the TOTP secret to enrol (the first sign-in shows it as a QR code)."""
    from ...services.ops import operators

    try:
        new = operators.create(username, password)
    except operators.OperatorRefused as refusal:
        raise click.ClickException(str(refusal.message)) from None
    click.echo(f"Operator {new.operator.username} created. Sign in at {current_app.config['PUBLIC_BASE_URL']}/ops/")
    click.echo("The first sign-in shows the TOTP QR code to scan; or add this secret to an authenticator app:")
    click.echo(f"  {new.totp_secret}")


@ops.command("reset-totp")
@click.argument("username")
def reset_totp(username: str) -> None:
    """Start USERNAME's TOTP enrolment again with a new secret (a lost phone)."""
    from ...services.ops import operators

    operator = operators.find(username)
    if operator is None:
        raise click.ClickException(f"no operator {username!r}")
    click.echo(
        f"New TOTP secret for {operator.username} (the next sign-in asks to enrol it): {operators.reset_totp(operator)}"
    )


@ops.command("totp")
@click.argument("username")
def totp(username: str) -> None:
    """Print the demo operator's current TOTP code (development only, the demo operator only)."""
    from ...services.ops import operators

    if current_app.config["APP_ENV"] != "development" or operators.normalize(username) != operators.DEMO_USERNAME:
        raise click.ClickException("only for the demo operator, in development (APP_ENV=development)")
    operator = operators.find(username)
    if operator is None:
        raise click.ClickException("no demo operator yet: run `flask demo seed`")
    click.echo(operators.current_code(operator))


@ops.command("rebuild-funnel")
def rebuild_funnel() -> None:
    """Recompute the funnel's daily roll-up from its events (after BABEL_DEFAULT_TIMEZONE changed);
    the command's unit of work (CommandGroup) commits it."""
    from ...services.ops import funnel

    counted = funnel.rebuild_roll_up()
    click.echo(f"Funnel roll-up rebuilt from {counted} events.")
