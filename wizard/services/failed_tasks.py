"""Tasks that raised (wizard/tasks.py records them): never dropped silently, retried by id.

A task's first failure writes a row (status "retrying"), each further one counts an attempt and
keeps the latest error; when its retries run out the row says "failed" and stays until an
operator retries it. A retry that succeeds removes the row. `retry` is what `flask queue retry ID`
(and, later, the operators' console) calls.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from .. import clock, tasks
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import FailedTask
from .refusals import Refused

ERROR_LENGTH = 2000


def describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


def record(task_id: str, name: str, args: tuple, error: BaseException, final: bool) -> None:
    """One more failed attempt of the task `task_id`; `final`: it has no retries left. In a unit of work of
    its own: the queue rolled back whatever the task left half-done (tasks.py)."""
    now, status = clock.now(), "failed" if final else "retrying"
    row = db.session.scalar(select(FailedTask).filter_by(task_id=task_id))
    if row is None:
        row = FailedTask(task_id=task_id, name=name, args=list(args), attempts=0, first_failed_at=now)
        db.session.add(row)
    row.attempts += 1
    row.error, row.status, row.last_failed_at = describe(error), status, now


def record_not_queued(name: str, args: tuple, error: BaseException) -> None:
    """The queue did not take a task whose transaction committed: failed at once, to be retried.

    Called after a commit, when the session cannot write: on a connection of its own.
    """
    now = clock.now()
    values = {"name": name, "args": list(args), "error": describe(error), "status": "failed", "attempts": 1}
    with db.engine.begin() as connection:
        connection.execute(insert(FailedTask).values(first_failed_at=now, last_failed_at=now, **values))


def forget(task_id: str) -> None:
    """A retry of the task worked."""
    db.session.execute(delete(FailedTask).where(FailedTask.task_id == task_id))


def forget_periodic(name: str) -> None:
    """A periodic job ran well: its earlier failures are over."""
    db.session.execute(delete(FailedTask).where(FailedTask.name == name))


def counts() -> dict[str, int]:
    found = dict(db.session.execute(select(FailedTask.status, func.count()).group_by(FailedTask.status)).all())
    return {status: found.get(status, 0) for status in ("retrying", "failed")}


def failed(limit: int = 100) -> list[FailedTask]:
    """The failed tasks, the most recent failure first."""
    return list(
        db.session.scalars(
            select(FailedTask)
            .where(FailedTask.status == "failed")
            .order_by(FailedTask.last_failed_at.desc())
            .limit(limit)
        )
    )


def retry(failed_id: int) -> FailedTask:
    """Queue a failed task again, with all its retries; its record goes once the queue took it."""
    row = db.session.get(FailedTask, failed_id)
    if row is None:
        raise Refused(_l("找不到该失败任务。"))
    if row.status != "failed":
        raise Refused(_l("该任务仍在自动重试中。"))
    if row.name in tasks.PERIODIC_JOBS:
        raise Refused(_l("周期任务会按计划再次运行，也可以用 flask queue run 立即运行；成功后记录自动清除。"))
    if row.name not in tasks.JOBS:
        raise Refused(_l("该任务已不存在，无法重试。"))
    try:
        tasks.enqueue(row.name, *row.args)
    except tasks.QueueUnavailable:
        raise Refused(_l("任务队列暂时不可用，请稍后重试。")) from None
    db.session.delete(row)
    return row
