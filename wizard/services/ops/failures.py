"""Failures an operator can retry: a metering hour 推送失败 (services/metering.py) and a failed task of
the queue (services/failed_tasks.py). Each retry is audited in the same transaction as its change."""

from __future__ import annotations

from ... import clock
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import MeteringHour
from .. import failed_tasks
from ..metering import deadline
from ..refusals import Refused
from .audit import Actor, record


def metering_retryable(hour: MeteringHour, now=None) -> bool:
    """Only before the hour's deadline: after it the marketplace bills the hour no more (it would refuse)."""
    return hour.status == "failed" and (now or clock.now()) < deadline(hour.hour_start)


def retry_metering_hour(hour_id: int, actor: Actor) -> MeteringHour:
    """The hour goes back to 待推送, alone, for the next push round (every minute)."""
    hour = db.session.get(MeteringHour, hour_id) if 0 < hour_id < 2**31 else None
    if hour is None or hour.status != "failed":
        raise Refused(_l("找不到该推送失败的小时（可能已重试）。"))
    if not metering_retryable(hour):
        raise Refused(_l("已过该小时的推送截止时间（下一个小时结束），云市场不再计费，无法重试。"))
    hour.status, hour.solo, hour.sent_at, hour.next_attempt_at = "pending", True, None, clock.now()
    record(actor, "metering_hour_retried", ("metering_hour", hour.id), hour_start=hour.hour_start.isoformat(),
           error=hour.last_error)  # fmt: skip
    return hour


def retry_task(failed_id: int, actor: Actor):
    """Queue a failed task again (failed_tasks.retry); audited once the queue took it."""
    if not 0 < failed_id < 2**31:
        raise Refused(_l("找不到该失败任务。"))
    row = failed_tasks.retry(failed_id)  # Refused: gone, still retrying, periodic, or the queue is down
    record(actor, "task_retried", ("failed_task", failed_id), task=row.name, args=list(row.args))
    return row
