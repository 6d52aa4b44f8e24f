"""The simulator's commands: `flask --app marketplace.wsgi demo seed` (and Flask-Migrate's `db`)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo data for manual walkthroughs.")


@demo.command("seed")
def seed() -> None:
    """Create the demo buyers and buyer D's metered instance (idempotent) and print them."""
    from .demo import seed_buyers, seed_metered_order

    click.echo("Marketplace buyers (sign in at the simulator's /, or open /?aliUid=<id>):")
    for ali_uid, name in seed_buyers():
        click.echo(f"  aliUid {ali_uid}  {name}")
    seed_metered_order()


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
