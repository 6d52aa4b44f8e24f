"""The task queue in tests: in-process (immediate mode, retries run by hand) and a real worker process."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from devtools.ports import free_port
from devtools.worker import Worker  # noqa: F401  (the tests' worker process)
from wizard.tasks import Queue, build_queue


def run_scheduled(app) -> int:
    """Run now every task waiting in the schedule (retries), as the worker would once their time came.

    In immediate mode a failed task is retried through the in-memory schedule, which nothing reads:
    this reads it. Returns how many tasks ran.
    """
    huey = app.extensions["queue"].huey
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)  # Huey keeps naive UTC times
    due = huey.read_schedule(later)
    for task in due:
        huey.execute(task, timestamp=later)
    return len(due)


def queue_of(app) -> Queue:
    return app.extensions["queue"]


def break_queue(app) -> None:
    """The queue's storage goes away: a Redis on a port where nothing listens."""
    app.extensions["queue"] = build_queue(app, QUEUE_IMMEDIATE=False, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")


def worker_environment(database_uri: str, mail_port: int, queue: dict[str, str], **settings) -> dict[str, str]:
    """What a worker process reads: the same database, SMTP server and queue as the test's application."""
    environ = {
        **os.environ,
        "APP_ENV": "testing",
        "QUEUE_IMMEDIATE": "0",
        "DATABASE_URL": database_uri,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail_port),
        "MAIL_TIMEOUT": "5",
        **queue,
        **{name: str(value) for name, value in settings.items()},
    }
    environ.pop("FLASK_APP", None)
    return environ


def wait_for(condition, timeout: float = 20.0, interval: float = 0.05, what: str = "the condition"):
    """Poll until `condition()` returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
