"""The simulator's own task queue (Huey on a SQLite file of its own): Alibaba Cloud retries the
createInstance of an order left 开通中, with backoff, up to a limit, then 开通失败 with the reason.

One periodic job, `retry_pending_orders`, every minute, provisions the orders whose next attempt
is due (orders.retry_due). `flask --app marketplace.wsgi queue worker` runs it (make run's
`market-worker`); `flask --app marketplace.wsgi queue run` runs it once, by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from flask import Flask
from huey import SqliteHuey, crontab
from huey.api import Huey

T = TypeVar("T")


def one_unit_per_item(items: Iterable[T], work: Callable[[T], object]) -> int:
    """`work` on each item in a unit of work of its own, so the job keeps its progress when an item fails;
    returns how many items there were."""
    from .extensions import one_transaction

    done = 0
    for item in items:
        with one_transaction():
            work(item)
        done += 1
    return done


def build_queue(app: Flask) -> Huey:
    path = Path(app.config["QUEUE_SQLITE_PATH"])
    huey = SqliteHuey(name="marketplace", filename=str(path), results=False, immediate=app.config["TESTING"])

    @huey.periodic_task(crontab(minute="*"), name="retry_pending_orders")
    def retry_pending_orders() -> int:
        """Orders 开通中 whose next createInstance attempt is due."""
        from .extensions import one_transaction
        from .orders import retry_due

        with app.app_context(), one_transaction():
            return retry_due()

    return huey


def run_worker(app: Flask) -> None:
    """Run the periodic retry until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Path(app.config["QUEUE_SQLITE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    consumer = build_queue(app).create_consumer(workers=1, worker_type="thread", periodic=True,
                                                graceful_signal="TERM", scheduler_interval=1)  # fmt: skip
    consumer.run()
