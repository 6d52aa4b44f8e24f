"""Usage per workspace and hour (what the workspace's DataKits and API callers used), and the demo
generator behind `flask usage simulate`.

A (workspace, hour, entity) is written once: a second report of it changes nothing, so generating or
importing the same hours again is harmless, and an hour already pushed never changes under the pusher.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from ..choices import USAGE_ENTITIES
from ..extensions import db, execute_dml
from ..models import MarketplaceInstance, MeteringHour, UsageRecord, Workspace, WorkspaceMember
from ..statuses import InstanceStatus

HOUR = timedelta(hours=1)
_CHUNK = 500


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def insert_new(model, rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); the number of rows inserted."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = 0
    for start in range(0, len(rows), _CHUNK):
        result = execute_dml(dialect.insert(model).values(rows[start : start + _CHUNK]).on_conflict_do_nothing())
        inserted += max(result.rowcount, 0)
    return inserted


@dataclass(frozen=True)
class Usage:
    workspace_id: int
    hour_start: datetime
    entity: str
    quantity: int


def record_usage(usages: Iterable[Usage]) -> int:
    """Record usage not recorded yet (in the caller's unit of work); returns how many rows were new."""
    rows = [
        {"workspace_id": u.workspace_id, "hour_start": u.hour_start, "entity": u.entity, "quantity": u.quantity}
        for u in usages
        if u.entity in USAGE_ENTITIES and u.quantity >= 0
    ]
    inserted = insert_new(UsageRecord, rows) if rows else 0
    return inserted


def simulated(workspace_id: int, hour_start: datetime, seed: int) -> list[Usage]:
    """One hour of a busy workspace: the same numbers for the same seed, workspace and hour."""
    rng = random.Random(f"{seed}:{workspace_id}:{int(hour_start.timestamp())}")
    daytime = 8 <= (hour_start.hour + 8) % 24 < 22  # busier in Beijing's daytime
    points = rng.randint(1_200_000, 3_000_000) if daytime else rng.randint(400_000, 1_200_000)
    return [
        Usage(workspace_id, hour_start, "data_points", points),
        Usage(workspace_id, hour_start, "api_calls", rng.randint(150, 2_000) if daytime else rng.randint(20, 300)),
    ]


def metered_workspaces() -> list[int]:
    """Workspaces settled through a live marketplace instance (the Aliyun-settled ones)."""
    return list(
        db.session.scalars(
            select(MarketplaceInstance.workspace_id)
            .where(MarketplaceInstance.status == InstanceStatus.ACTIVE, MarketplaceInstance.workspace_id.is_not(None))
            .order_by(MarketplaceInstance.workspace_id)
        )
    )


@dataclass(frozen=True)
class Simulation:
    workspaces: int
    hours: int
    recorded: int


def simulate(hours: int, seed: int, now: datetime, workspace_ids: list[int] | None = None) -> Simulation:
    """Usage for the last `hours` closed hours of every Aliyun-settled workspace (or those given)."""
    workspaces = metered_workspaces() if workspace_ids is None else workspace_ids
    last = floor_hour(now)
    usages = [
        usage
        for workspace_id in workspaces
        for back in range(hours, 0, -1)
        for usage in simulated(workspace_id, last - back * HOUR, seed)
    ]
    return Simulation(len(workspaces), hours, record_usage(usages))


# ---- What the console shows (U1): this month's usage and each hour's push status ----


@dataclass(frozen=True)
class HourUsage:
    hour_start: datetime
    quantities: dict[str, int]  # entity -> quantity
    status: str | None  # "pending", "pushed", "failed"; None: not settled through the Aliyun account
    error: str | None  # the last error's code, for the reason shown

    @property
    def reason_code(self) -> str | None:
        return self.error.split(":", 1)[0] if self.error else None


@dataclass(frozen=True)
class MonthUsage:
    month_start: datetime
    totals: dict[str, int]
    hours: list[HourUsage]  # newest first

    def count(self, status: str) -> int:
        return sum(hour.status == status for hour in self.hours)


def month_start(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_usage(workspace_id: int, now: datetime, timezone: str, settled_since: datetime | None) -> MonthUsage:
    """The workspace's usage since the 1st of this month (in `timezone`) and how each hour was pushed.

    An hour settled through the Aliyun account (from `settled_since`'s hour on) that is not closed yet
    is 待推送 too: it will be pushed once it ends."""
    start = month_start(now, timezone)
    quantities: dict[datetime, dict[str, int]] = defaultdict(dict)
    for hour_start, entity, quantity in db.session.execute(
        select(UsageRecord.hour_start, UsageRecord.entity, UsageRecord.quantity).where(
            UsageRecord.workspace_id == workspace_id, UsageRecord.hour_start >= start
        )
    ):
        quantities[hour_start][entity] = quantity
    pushes = {
        row.hour_start: row
        for row in db.session.scalars(
            select(MeteringHour).where(MeteringHour.workspace_id == workspace_id, MeteringHour.hour_start >= start)
        )
    }
    first_settled = floor_hour(settled_since) if settled_since else None
    hours = []
    for hour_start in sorted(quantities, reverse=True):
        push = pushes.get(hour_start)
        status: str | None
        if push is not None:
            status, error = push.status, push.last_error
        else:
            status, error = ("pending" if first_settled and hour_start >= first_settled else None), None
        hours.append(HourUsage(hour_start, quantities[hour_start], status, error))
    totals = {entity: sum(q.get(entity, 0) for q in quantities.values()) for entity in USAGE_ENTITIES}
    return MonthUsage(start, totals, hours)


def member_workspace(account_id: int, workspace_id: int) -> Workspace | None:
    """The workspace if the account is one of its members (the console shows nothing else)."""
    if not 0 < workspace_id < 2**31:
        return None
    return db.session.scalar(
        select(Workspace)
        .join(WorkspaceMember)
        .where(Workspace.id == workspace_id, WorkspaceMember.account_id == account_id)
        .options(joinedload(Workspace.instances))
    )


def settled_usage(workspace: Workspace, now: datetime, timezone: str) -> MonthUsage | None:
    """This month's usage of a workspace settled through a marketplace instance; None for the others."""
    instance = next((i for i in workspace.instances if i.state.live), None)
    if instance is None:
        return None
    return month_usage(workspace.id, now, timezone, instance.bound_at)
