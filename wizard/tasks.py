"""The task queue (Huey): the work that leaves the request, the worker that does it, the periodic jobs.

One module owns the queue. Each application builds its own Huey from its settings (`build_queue`,
called by create_app, kept in `app.extensions["queue"]`): RedisHuey on REDIS_URL when it is set,
else SqliteHuey on the file QUEUE_SQLITE_PATH; with QUEUE_IMMEDIATE (the testing profile) a task
runs at once, in the caller's thread. One queue per application rather than per process, so the
tests, the e2e live server and a worker each get the storage their settings name.

Tasks (`@task`) are plain functions of plain values (ids, strings), safe to run twice: each looks
at the database before it does anything. Each runs in an application context of its own (the
worker builds the application once: `flask queue worker`). A task that raises is retried
QUEUE_RETRIES times, the n-th retry QUEUE_RETRY_DELAY_SECONDS x QUEUE_RETRY_BACKOFF^(n-1) seconds
after the failure before it, and is recorded on the way in failed_task (services/failed_tasks.py):
"retrying" while it has retries left, "failed" with its error when they run out, when its
`on_giving_up` is also called with its arguments. A retry that succeeds removes the record.

Periodic jobs (`@periodic`) run on the worker's scheduler and by hand with `flask queue run NAME`.
Later work adds its own here, in the same way (the lock countdown, the metering push):

    @periodic("Pushed {} usage records.", minute="*/5")
    def push_metering() -> int:
        from .services import metering
        return metering.push_due()

Enqueueing: `enqueue(name, *args)` now (raises QueueUnavailable when the storage is down), or
`enqueue_on_commit(name, *args)` once the current database transaction commits (dropped if it
rolls back), so a task never runs for a row that was never committed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click
from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey, TaskWrapper
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

logger = logging.getLogger(__name__)
T = TypeVar("T")


class QueueUnavailable(Exception):
    """The queue's storage (Redis, or the SQLite file) did not take the task."""


@dataclass(frozen=True)
class Job:
    function: Callable[..., object]
    # Called with the task's arguments once its retries have run out (e.g. mark a code as failed).
    on_giving_up: Callable[..., None] | None = None
    # Periodic jobs are not retried (the next run comes anyway); one that works clears their failures.
    periodic: bool = False


@dataclass(frozen=True)
class PeriodicJob:
    function: Callable[[], object]
    report: str  # what `flask queue run` prints, with the function's result in {}
    schedule: dict[str, str]  # huey.crontab fields

    @property
    def when(self) -> str:
        return " ".join(f"{unit}={value}" for unit, value in self.schedule.items())


JOBS: dict[str, Job] = {}
PERIODIC_JOBS: dict[str, PeriodicJob] = {}


def task(on_giving_up: Callable[..., None] | None = None):
    """Register a function as a task, under its own name."""

    def register(function):
        JOBS[function.__name__] = Job(function, on_giving_up)
        return function

    return register


def periodic(report: str, **schedule: str):
    """Register a function as a periodic job, run on a crontab schedule (minute=..., hour=...)."""

    def register(function):
        PERIODIC_JOBS[function.__name__] = PeriodicJob(function, report, schedule)
        return function

    return register


# ---- The tasks: each imports its service when it runs (the services enqueue through this module) ----


def _code_not_delivered(code_id: int, *_requester: str) -> None:
    from .services import codes

    codes.give_up(code_id)


@task(on_giving_up=_code_not_delivered)
def deliver_code(code_id: int, ali_uid: str = "", instance_id: str = "") -> None:
    """Mail a verification code, or only reach the SMTP server when nobody has that address; a code
    that binds something names who asked (the Aliyun account and instance)."""
    from .services import codes

    codes.deliver(code_id, ali_uid, instance_id)


def _notice_not_delivered(notice_id: int) -> None:
    from .services import notices

    notices.give_up(notice_id)


@task(on_giving_up=_notice_not_delivered)
def deliver_notice(notice_id: int) -> None:
    """Mail an email notice (services/notices.py)."""
    from .services import notices

    notices.deliver(notice_id)


# ---- The periodic jobs ----


@periodic("Deleted {} verification codes.", minute="5")
def prune_codes() -> int:
    """Verification codes no rule looks at any more."""
    from .services import codes

    return codes.prune()


@periodic("Deleted {} used login-free tokens.", minute="*/10")
def prune_login_free_tokens() -> int:
    """Used 免登 tokens past their time window (a replay fails the window check anyway)."""
    from .services import sso

    return sso.prune_tokens()


@periodic("Deleted {} registration drafts.", minute="15")
def prune_registration_drafts() -> int:
    """R1 drafts that expired before R2."""
    from .services import registration

    return registration.prune_drafts()


@periodic("Lifecycle: {}.", minute="*/5")
def lifecycle() -> object:
    """After activation: instances past their expiry date, lock reminders, the lock and wipe at the
    countdown's end, used unlock links pruned; each step safe to repeat."""
    from .services import lifecycle as rules

    return rules.run_periodic()


@periodic("Metering: {}.", minute="*")
def push_metering() -> object:
    """Usage hours closed and pushed to the marketplace (PushMeteringData), at most one request per
    instance a minute; an hour not accepted by its deadline becomes 推送失败."""
    from .services import metering

    return metering.push_now()


def one_unit_per_item(items: Iterable[T], work: Callable[[T], int]) -> int:
    """`work` on each item in a unit of work of its own, for a periodic job that must keep its progress:
    what was done for the items before stays when one fails (the job still fails, and is retried), and
    one item that keeps failing holds back no other. Returns the sum of what `work` returned."""
    from .extensions import one_transaction

    done = 0
    for item in items:
        with one_transaction():
            done += work(item)
    return done


# ---- One queue per application ----


class Queue:
    """An application's Huey, built on first use (an application that queues nothing opens no storage)."""

    def __init__(self, app: Flask, **settings) -> None:
        self.app = app
        self.overrides = settings  # only tests override the application's settings
        self._huey: Huey | None = None
        self._tasks: dict[str, TaskWrapper] = {}
        self._lock = threading.Lock()

    @property
    def huey(self) -> Huey:
        if self._huey is None:
            with self._lock:
                if self._huey is None:
                    self._huey = self._build()
        return self._huey

    @property
    def tasks(self) -> dict[str, TaskWrapper]:
        self.huey  # noqa: B018  (built with the tasks)
        return self._tasks

    def _build(self) -> Huey:
        """RedisHuey or SqliteHuey, with every task and periodic job registered to run in the app's context."""
        app, config = self.app, {**self.app.config, **self.overrides}
        options = {"name": config["QUEUE_NAME"], "results": False, "immediate": config["QUEUE_IMMEDIATE"]}
        if config["REDIS_URL"]:
            huey = RedisHuey(url=config["REDIS_URL"], **options)
        else:
            if not config["QUEUE_IMMEDIATE"]:
                Path(config["QUEUE_SQLITE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
            huey = SqliteHuey(filename=config["QUEUE_SQLITE_PATH"], **options)
        retries = {
            "retries": config["QUEUE_RETRIES"],
            "retry_delay": config["QUEUE_RETRY_DELAY_SECONDS"],
            "retry_backoff": config["QUEUE_RETRY_BACKOFF"],
        }
        for name, job in JOBS.items():
            self._tasks[name] = huey.task(name=name, context=True, **retries)(_in_context(app, name, job))
        for name, periodic in PERIODIC_JOBS.items():
            huey.periodic_task(crontab(**periodic.schedule), name=name, context=True)(
                _in_context(app, name, Job(periodic.function, periodic=True))
            )
        return huey


def build_queue(app: Flask, **settings) -> Queue:
    return Queue(app, **settings)


def _in_context(app: Flask, name: str, job: Job):
    def run(*args, task):
        from .extensions import one_transaction

        with app.app_context():
            try:
                with one_transaction():  # the job is the entry point: its unit of work (README, Architecture)
                    result = job.function(*args)
            except Exception as error:
                _record_failure(name, job, args, task, error)
                raise
            if job.periodic or task.retries < type(task).default_retries:  # it worked after failing
                _forget_failures(name, task.id, job.periodic)
            return result

    run.__name__ = run.__qualname__ = name
    return run


def _record_failure(name: str, job: Job, args: tuple, task, error: Exception) -> None:
    """Record the failure (and give up, on the last attempt); a problem here must not hide the error."""
    from .extensions import one_transaction
    from .services import failed_tasks

    final = not task.retries
    try:
        with one_transaction():  # the job's own work was rolled back; this is the record's
            failed_tasks.record(task.id, name, args, error, final)
            if final and job.on_giving_up is not None:
                job.on_giving_up(*args)
    except Exception:
        logger.exception("could not record the failure of task %s (%s)", name, task.id)


def _forget_failures(name: str, task_id: str, periodic_job: bool) -> None:
    from .extensions import one_transaction
    from .services import failed_tasks

    try:
        with one_transaction():
            failed_tasks.forget_periodic(name) if periodic_job else failed_tasks.forget(task_id)
    except Exception:
        logger.exception("could not clear the failures of task %s (%s)", name, task_id)


def current_queue() -> Queue:
    return current_app.extensions["queue"]


# ---- Enqueueing ----


def enqueue(name: str, *args) -> None:
    """Queue the task `name` with `args` now; raises QueueUnavailable if the storage refuses."""
    try:
        current_queue().tasks[name](*args)
    except (RedisError, sqlite3.Error, OSError) as error:
        raise QueueUnavailable(f"{type(error).__name__}: {error}") from error


_ON_COMMIT = "wizard.tasks.on_commit"


def enqueue_on_commit(name: str, *args) -> None:
    """Queue the task when the current transaction of db.session commits; forget it on rollback.

    Inside a savepoint (extensions.savepoint) the task waits for the enclosing transaction: released,
    the savepoint hands it on; rolled back, it forgets it (and only it)."""
    from .extensions import db

    pending = db.session.info.setdefault(_ON_COMMIT, {})
    pending.setdefault(_innermost(db.session()), []).append((name, args))


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    released = session.get_nested_transaction()
    if released is not None:  # a savepoint: its tasks now wait for the transaction around it
        waiting = session.info.get(_ON_COMMIT, {}).pop(released, [])
        if waiting:
            session.info[_ON_COMMIT].setdefault(released.parent, []).extend(waiting)
        return
    for waiting in session.info.pop(_ON_COMMIT, {}).values():
        for name, args in waiting:
            _enqueue_committed_task(name, args)


def _enqueue_committed_task(name: str, args: tuple) -> None:
    try:
        enqueue(name, *args)
    except QueueUnavailable as error:
        # Committed, but not queued: recorded as a failed task, so an operator can retry it.
        from .services import failed_tasks

        logger.error("task %s%r committed but not queued: %s", name, args, error)
        failed_tasks.record_not_queued(name, args, error)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    undone = session.get_nested_transaction()
    if undone is not None:  # back to a savepoint: only what was queued inside it is forgotten
        session.info.get(_ON_COMMIT, {}).pop(undone, None)
    else:
        session.info.pop(_ON_COMMIT, None)


# ---- What the commands show and do ----


@dataclass(frozen=True)
class QueueStatus:
    waiting: int  # queued, ready to run
    scheduled: int  # waiting for their time: retries after a failure, delayed tasks
    retrying: int  # failed at least once, with retries left
    failed: int  # retries ran out; see `flask queue failed`, retry with `flask queue retry ID`


def status() -> QueueStatus:
    from .services import failed_tasks

    huey = current_queue().huey
    counts = failed_tasks.counts()
    return QueueStatus(huey.pending_count(), huey.scheduled_count(), counts["retrying"], counts["failed"])


def run_periodic(name: str) -> str:
    """Run a periodic job now, in this process, in one unit of work; returns its report."""
    from .extensions import one_transaction

    job = PERIODIC_JOBS[name]
    with one_transaction():
        return job.report.format(job.function())


def run_worker(app: Flask, workers: int, periodic_jobs: bool) -> None:
    """Consume the queue until SIGTERM (finish the tasks in hand, then stop) or SIGINT (stop now)."""
    if app.config["QUEUE_IMMEDIATE"]:
        raise click.ClickException(
            "QUEUE_IMMEDIATE is on: tasks run where they are queued, there is nothing to consume."
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    consumer = app.extensions["queue"].huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=periodic_jobs,
        # SQLite storage is polled: at most half a second between looks when idle, so codes do not wait long.
        initial_delay=0.1,
        backoff=1.15,
        max_delay=0.5,
        scheduler_interval=1,
        graceful_signal="TERM",
        shutdown_timeout=max(30.0, 2 * app.config["MAIL_TIMEOUT"]),
    )
    consumer.run()
