"""The simulator's commands (`flask --app marketplace.wsgi ...`): `demo seed`, `queue worker`, `queue run`, `db`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .extensions import CommandGroup

demo = CommandGroup("demo", help="Demo data for manual walkthroughs.")
queue = CommandGroup("queue", help="The simulator's queue: the periodic retry of orders 开通中.")


@demo.command("seed")
def seed() -> None:
    """Create the demo buyers and buyer D's metered instance (idempotent) and print them."""
    from .demo import seed_buyers, seed_metered_order

    click.echo("Marketplace buyers (sign in at the simulator's /, or open /?aliUid=<id>):")
    for ali_uid, name in seed_buyers():
        click.echo(f"  aliUid {ali_uid}  {name}")
    seed_metered_order()


@queue.command("worker")
@with_appcontext
def worker() -> None:
    """Retry the createInstance of orders 开通中 as it falls due, until stopped (make run's market-worker)."""
    from .tasks import run_worker

    run_worker(current_app._get_current_object())  # type: ignore[attr-defined]  # current_app is a LocalProxy


@queue.command("run")
def run_once() -> None:
    """Retry now, once, every order 开通中 whose next attempt is due."""
    from .orders import retry_due

    click.echo(f"Retried {retry_due()} orders.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(queue)
