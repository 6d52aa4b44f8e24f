"""Metering: every closed hour of an Aliyun-settled workspace is pushed to the marketplace
(PushMeteringData) and billed exactly once.

The rules, in the order a push round applies them (`push_due`):

1. Closing. An hour closes METERING_CLOSE_DELAY after it ends (late reports may still arrive). It is
   billed to the instance that settled the workspace for the whole hour: from the hour the instance
   was bound, up to its expiry or release, never after. Closing fixes what will be pushed
   (`MeteringHour.entities`), so every retry sends the very same record.
2. One pusher per instance, one request per instance per METERING_REQUEST_INTERVAL: an instance's
   turn is taken with one conditional UPDATE (`MeteringLease`), which the database serializes, so two
   pushers at once never send the same hours.
3. Sending. Up to METERING_BATCH_SIZE (<= 100) hours of one instance, hence of one product, per
   request. `sent_at` is committed before the request leaves: from then on the marketplace may have
   billed the hour. Accepted: 已推送. Refused for the records themselves: 推送失败 with the code (a
   refused batch of several hours is retried hour by hour first). Anything else (unreachable, timeout,
   5xx, throttled): retried with a doubling backoff.
4. The deadline. The marketplace bills an hour only if it arrives before the end of the next hour. An
   hour never sent by then (less METERING_DEADLINE_MARGIN) is 推送失败. An hour that was sent but whose
   answer was lost is not guessed at: once the deadline has passed (plus the margin), the marketplace
   is asked what it billed (DescribePushMeteringData) and the hour becomes what that says.

The marketplace deduplicates (instance, hour, entity), so a retry after a lost answer bills nothing
twice; `reconcile` compares both sides to prove it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import tasks
from ..extensions import commit_now, db, execute_dml, savepoint
from ..models import MarketplaceInstance, MeteringHour, MeteringLease, UsageRecord
from ..observability import metrics
from ..statuses import InstanceStatus
from .market_api import MarketApi, MarketApiError
from .usage import HOUR, floor_hour, insert_new

DEADLINE_EXCEEDED = "DeadlineExceeded: the hour's usage did not reach the marketplace before the end of the next hour"


@dataclass(frozen=True)
class MeteringSettings:
    keys: Mapping[str, str]  # usage entity -> the product's metering key
    batch_size: int = 100
    request_interval: timedelta = timedelta(seconds=65)
    close_delay: timedelta = timedelta(minutes=5)
    deadline_margin: timedelta = timedelta(minutes=2)
    retry: timedelta = timedelta(minutes=1)
    retry_max: timedelta = timedelta(minutes=10)
    lookback: timedelta = timedelta(days=7)

    @classmethod
    def from_config(cls, config: Mapping) -> MeteringSettings:
        seconds = lambda name: timedelta(seconds=config[name])  # noqa: E731
        return cls(
            dict(config["METERING_KEYS"]), min(config["METERING_BATCH_SIZE"], 100),
            seconds("METERING_REQUEST_INTERVAL_SECONDS"), seconds("METERING_CLOSE_DELAY_SECONDS"),
            seconds("METERING_DEADLINE_MARGIN_SECONDS"), seconds("METERING_RETRY_SECONDS"),
            seconds("METERING_RETRY_MAX_SECONDS"), timedelta(hours=config["METERING_LOOKBACK_HOURS"]),
        )  # fmt: skip


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def deadline(hour_start: datetime) -> datetime:
    """The end of the next hour: after it, the marketplace bills the hour no more."""
    return hour_start + 2 * HOUR


def service_end(instance: MarketplaceInstance) -> datetime | None:
    """When the instance stopped settling its workspace: expiry, expiredInstance or release."""
    ends = [instance.expires_at, instance.released_at]
    if instance.state is InstanceStatus.EXPIRED:  # expiredInstance ended it (expired_at), maybe before its date
        ends.append(instance.expired_at or instance.updated_at)
    known = [end for end in ends if end is not None]
    return min(known) if known else None


# ---- 1. Closing hours ----


def metered_instances(now: datetime, settings: MeteringSettings) -> list[MarketplaceInstance]:
    return list(
        db.session.scalars(
            select(MarketplaceInstance)
            .where(MarketplaceInstance.workspace_id.is_not(None), MarketplaceInstance.bound_at.is_not(None))
            .where(
                (MarketplaceInstance.released_at.is_(None))
                | (MarketplaceInstance.released_at > now - settings.lookback)
            )
            .order_by(MarketplaceInstance.id)
        )
    )


def closable_range(
    instance: MarketplaceInstance, now: datetime, settings: MeteringSettings
) -> tuple[datetime, datetime]:
    """[first, last] hour starts the instance is billed for and that are closed."""
    bound_at = cast(datetime, instance.bound_at)  # metered_instances: bound ones only
    first = max(floor_hour(bound_at), floor_hour(now - settings.lookback))
    last = floor_hour(now - settings.close_delay) - HOUR
    end = service_end(instance)
    if end is not None:
        last = min(last, floor_hour(end) - HOUR)
    return first, last


def hours_to_close(instance: MarketplaceInstance, now: datetime, settings: MeteringSettings) -> list[dict]:
    first, last = closable_range(instance, now, settings)
    if last < first:
        return []
    closed = set(
        db.session.scalars(
            select(MeteringHour.hour_start).where(
                MeteringHour.instance_id == instance.id, MeteringHour.hour_start >= first
            )
        )
    )
    usage = db.session.execute(
        select(UsageRecord.hour_start, UsageRecord.entity, UsageRecord.quantity).where(
            UsageRecord.workspace_id == instance.workspace_id,
            UsageRecord.hour_start >= first,
            UsageRecord.hour_start <= last,
        )
    )
    entities: dict[datetime, dict[str, int]] = defaultdict(dict)
    for hour_start, entity, quantity in usage:
        if hour_start not in closed and entity in settings.keys:
            entities[hour_start][settings.keys[entity]] = quantity
    return [
        {"instance_id": instance.id, "workspace_id": instance.workspace_id, "hour_start": hour_start,
         "entities": values, "status": "pending", "attempts": 0, "solo": False, "next_attempt_at": now,
         "created_at": now}
        for hour_start, values in sorted(entities.items())
    ]  # fmt: skip


def close_hours(now: datetime, settings: MeteringSettings) -> int:
    """Create the MeteringHour of every closed, billable hour that has none; two pushers may race, once wins."""
    created = 0
    for instance in metered_instances(now, settings):
        rows = hours_to_close(instance, now, settings)
        created += insert_new(MeteringHour, rows) if rows else 0
    return created


# ---- 2. An instance's turn ----


def take_turn(instance_id: int, now: datetime, settings: MeteringSettings) -> datetime | None:
    """The instance is this pusher's until the returned moment, or None: another pusher has it, or its
    last request was less than an interval ago."""
    until = now + settings.request_interval
    taken = execute_dml(
        update(MeteringLease)
        .where(MeteringLease.instance_id == instance_id, MeteringLease.next_request_at <= now)
        .values(next_request_at=until)
    )
    if taken.rowcount != 1:
        if db.session.get(MeteringLease, instance_id) is not None:
            return None
        try:
            with savepoint():
                db.session.add(MeteringLease(instance_id=instance_id, next_request_at=until))
        except IntegrityError:  # another pusher took the first turn at the same moment
            return None
    commit_now("the turn is this pusher's before the marketplace is asked: another pusher sees it taken")
    return until


def give_back_turn(instance_id: int, until: datetime, now: datetime) -> None:
    """No request was sent: the next round may take the turn at once."""
    db.session.execute(
        update(MeteringLease)
        .where(MeteringLease.instance_id == instance_id, MeteringLease.next_request_at == until)
        .values(next_request_at=now)
    )


# ---- 3. Sending ----


def due_hours(instance_id: int, now: datetime, settings: MeteringSettings) -> list[MeteringHour]:
    """The next request's hours: pending, due, still in time; oldest first, a solo hour alone."""
    hours = list(
        db.session.scalars(
            select(MeteringHour)
            .where(
                MeteringHour.instance_id == instance_id,
                MeteringHour.status == "pending",
                MeteringHour.next_attempt_at <= now,
                MeteringHour.hour_start > now - 2 * HOUR + settings.deadline_margin,
            )
            .order_by(MeteringHour.solo.desc(), MeteringHour.hour_start)
            .limit(settings.batch_size)
        )
    )
    if hours and hours[0].solo:
        return hours[:1]
    return hours


def record_of(instance: MarketplaceInstance, hour: MeteringHour) -> dict:
    start = unix(hour.hour_start)
    entities = [{"Key": key, "Value": value} for key, value in sorted(hour.entities.items())]
    return {"InstanceId": instance.instance_id, "StartTime": start, "EndTime": start + 3600, "Entities": entities}


def backoff(attempts: int, settings: MeteringSettings) -> timedelta:
    return min(settings.retry * 2 ** max(attempts - 1, 0), settings.retry_max)


def send(instance: MarketplaceInstance, batch: list[MeteringHour], now: datetime, settings, api: MarketApi) -> str:
    """One PushMeteringData for `batch`; returns the hours' new status ("pushed", "failed" or "pending")."""
    records = [record_of(instance, hour) for hour in batch]
    for hour in batch:
        hour.sent_at, hour.attempts = now, hour.attempts + 1
    commit_now("the hours are marked as sent before the request: after a crash they are known to be maybe billed")
    try:
        request_id = api.push_metering_data(records)
    except MarketApiError as error:
        outcome = refused(batch, error, now) if error.refused else retry_later(batch, error, now, settings)
    else:
        for hour in batch:
            hour.status, hour.pushed_at, hour.request_id, hour.sent_at, hour.last_error = (
                "pushed",
                now,
                request_id,
                None,
                None,
            )
        outcome = "pushed"
    metrics.metering_push(outcome, len(batch))
    return outcome


def refused(batch: list[MeteringHour], error: MarketApiError, now: datetime) -> str:
    """Refused whole for its records: nothing of it was billed. Alone, the hour failed; in company, each
    hour goes again on its own, so one bad hour cannot sink the rest."""
    for hour in batch:
        hour.sent_at, hour.last_error = None, error.reason
        if len(batch) == 1:
            hour.status = "failed"
        else:
            hour.solo, hour.next_attempt_at = True, now
    return "failed" if len(batch) == 1 else "pending"


def retry_later(batch: list[MeteringHour], error: MarketApiError, now: datetime, settings) -> str:
    """Unknown or passing failure: `sent_at` stays (the marketplace may have billed), try again later."""
    for hour in batch:
        hour.last_error, hour.next_attempt_at = error.reason, now + backoff(hour.attempts, settings)
    return "pending"


# ---- 4. The deadline ----


def settle_overdue(instance: MarketplaceInstance, now: datetime, settings: MeteringSettings, api: MarketApi) -> Counter:
    """Hours that can no longer be sent: never sent -> 推送失败; sent with the answer lost -> what the
    marketplace says it billed, once its deadline has passed for good. Counts the hours settled, by status."""
    overdue = list(
        db.session.scalars(
            select(MeteringHour).where(
                MeteringHour.instance_id == instance.id,
                MeteringHour.status == "pending",
                MeteringHour.hour_start <= now - 2 * HOUR + settings.deadline_margin,
            )
        )
    )
    for hour in overdue:
        if hour.sent_at is None:
            hour.status, hour.last_error = "failed", DEADLINE_EXCEEDED
    unknown = [
        hour
        for hour in overdue
        if hour.sent_at is not None and now >= deadline(hour.hour_start) + settings.deadline_margin
    ]
    if unknown:
        confirm(instance, unknown, now, api)
    return Counter(hour.status for hour in overdue if hour.status != "pending")


def confirm(instance: MarketplaceInstance, hours: list[MeteringHour], now: datetime, api: MarketApi) -> None:
    start, end = unix(min(h.hour_start for h in hours)), unix(max(h.hour_start for h in hours)) + 3600
    try:
        records = api.describe_push_metering_data(start, end, instance.instance_id)
    except MarketApiError as error:
        for hour in hours:
            hour.last_error = error.reason
        return
    billed: dict[int, dict[str, int]] = defaultdict(dict)
    for record in records:
        billed[int(record["StartTime"]) // 3600 * 3600][record["Key"]] = int(record["Value"])
    for hour in hours:
        found = billed.get(unix(hour.hour_start), {})
        hour.sent_at = None
        if found == hour.entities:
            hour.status, hour.pushed_at, hour.last_error = "pushed", now, None
        elif not found:
            hour.status, hour.last_error = "failed", DEADLINE_EXCEEDED
        else:
            hour.status, hour.last_error = "failed", "Conflict: the marketplace billed other values for this hour"


# ---- A round ----


@dataclass
class PushReport:
    closed: int = 0
    requests: int = 0
    pushed: int = 0
    failed: int = 0
    waiting: int = 0
    busy: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"closed {self.closed} hours; {self.requests} requests; pushed {self.pushed}, failed {self.failed}, "
            f"waiting {self.waiting}; {self.busy} instances busy or throttled"
            + "".join(f"\n  retry later: {error}" for error in self.errors)
        )


def instances_with_pending_hours() -> list[MarketplaceInstance]:
    pending = select(MeteringHour.instance_id).where(MeteringHour.status == "pending").distinct()
    return list(db.session.scalars(select(MarketplaceInstance).where(MarketplaceInstance.id.in_(pending))))


def push_instance(instance: MarketplaceInstance, now: datetime, settings, api: MarketApi, report: PushReport) -> None:
    until = take_turn(instance.id, now, settings)
    if until is None:
        report.busy += 1
        return
    settled = settle_overdue(instance, now, settings, api)
    report.pushed, report.failed = report.pushed + settled["pushed"], report.failed + settled["failed"]
    batch = due_hours(instance.id, now, settings)
    if not batch:
        give_back_turn(instance.id, until, now)
        return
    size = len(batch)
    outcome = send(instance, batch, now, settings, api)
    report.requests += 1
    if outcome == "pushed":
        report.pushed += size
    elif outcome == "failed":
        report.failed += size
    else:
        report.waiting += size
        report.errors.append(f"{instance.instance_id}: {batch[0].last_error}")


def push_due(now: datetime, settings: MeteringSettings, api: MarketApi) -> PushReport:
    """One round: close the hours that ended, then give every instance with pending hours its turn; the
    closing and each instance's turn in a unit of work of its own (an instance that fails holds back no other)."""
    report = PushReport(closed=tasks.one_unit_per_item([now], lambda moment: close_hours(moment, settings)))

    def push(instance: MarketplaceInstance) -> int:
        push_instance(instance, now, settings, api, report)
        return 1

    tasks.one_unit_per_item(instances_with_pending_hours(), push)
    return report


def push_now() -> PushReport:
    """One round now, with the application's settings: the periodic job, and `flask metering push`.
    Raises market_api.NotConfigured when the AccessKey pair is missing."""
    from flask import current_app

    from .. import clock
    from .market_api import MarketApiSettings

    config = current_app.config
    return push_due(clock.now(), MeteringSettings.from_config(config), MarketApi(MarketApiSettings.from_config(config)))


def failed_hours(limit: int = 1000) -> list[MeteringHour]:
    """推送失败, newest first: what operators look at (`flask metering failed`)."""
    return list(
        db.session.scalars(
            select(MeteringHour)
            .where(MeteringHour.status == "failed")
            .order_by(MeteringHour.hour_start.desc())
            .limit(limit)
        )
    )


# ---- Reconciliation ----


@dataclass(frozen=True)
class Difference:
    kind: str  # "missing": we say pushed, not billed; "unexpected": billed, we do not say pushed;
    # "different": billed with another value; "duplicate": billed more than once
    instance_id: str
    hour_start: datetime
    key: str
    ours: int | None
    theirs: int | None

    def __str__(self) -> str:
        ours, theirs = ("-" if value is None else value for value in (self.ours, self.theirs))
        when = f"{self.hour_start:%Y-%m-%d %H:%M}Z"
        return (
            f"{self.kind:<10} instance {self.instance_id} hour {when} {self.key}: Guance {ours}, marketplace {theirs}"
        )


def believed_pushed(start: datetime, end: datetime) -> dict[tuple[str, int, str], int]:
    rows = db.session.execute(
        select(MarketplaceInstance.instance_id, MeteringHour.hour_start, MeteringHour.entities)
        .join(MarketplaceInstance, MarketplaceInstance.id == MeteringHour.instance_id)
        .where(MeteringHour.status == "pushed", MeteringHour.hour_start >= start, MeteringHour.hour_start < end)
    )
    return {
        (instance_id, unix(hour_start), key): value
        for instance_id, hour_start, entities in rows
        for key, value in entities.items()
    }


def reconcile(start: datetime, end: datetime, api: MarketApi) -> list[Difference]:
    """Every difference between what Guance believes was accepted and what the marketplace billed."""
    ours = believed_pushed(start, end)
    theirs: dict[tuple[str, int, str], int] = {}
    differences = []
    for record in api.describe_push_metering_data(unix(start), unix(end)):
        key = (record["InstanceId"], int(record["StartTime"]) // 3600 * 3600, record["Key"])
        if key in theirs:
            differences.append(difference("duplicate", key, ours.get(key), int(record["Value"])))
        theirs[key] = int(record["Value"])
    for key in sorted(set(ours) | set(theirs)):
        mine, billed = ours.get(key), theirs.get(key)
        if mine != billed:
            kind = "missing" if billed is None else "unexpected" if mine is None else "different"
            differences.append(difference(kind, key, mine, billed))
    return differences


def difference(kind: str, key: tuple[str, int, str], ours: int | None, theirs: int | None) -> Difference:
    instance_id, hour, entity = key
    return Difference(kind, instance_id, datetime.fromtimestamp(hour, UTC), entity, ours, theirs)
