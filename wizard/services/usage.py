"""Usage per workspace and hour (what the workspace's DataKits and API callers used), and the demo
generator behind `flask usage simulate`.

A (workspace, hour, entity) is written once: a second report of it changes nothing, so generating or
importing the same hours again is harmless, and an hour already pushed never changes under the pusher.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..choices import USAGE_ENTITIES
from ..extensions import db
from ..models import MarketplaceInstance, UsageRecord

HOUR = timedelta(hours=1)
_CHUNK = 500


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def insert_new(model, rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); the number of rows inserted."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = 0
    for start in range(0, len(rows), _CHUNK):
        result = db.session.execute(dialect.insert(model).values(rows[start : start + _CHUNK]).on_conflict_do_nothing())
        inserted += max(result.rowcount, 0)
    return inserted


@dataclass(frozen=True)
class Usage:
    workspace_id: int
    hour_start: datetime
    entity: str
    quantity: int


def record_usage(usages: Iterable[Usage]) -> int:
    """Record usage not recorded yet (commits); returns how many rows were new."""
    rows = [
        {"workspace_id": u.workspace_id, "hour_start": u.hour_start, "entity": u.entity, "quantity": u.quantity}
        for u in usages
        if u.entity in USAGE_ENTITIES and u.quantity >= 0
    ]
    inserted = insert_new(UsageRecord, rows) if rows else 0
    db.session.commit()
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
            .where(MarketplaceInstance.status == "active", MarketplaceInstance.workspace_id.is_not(None))
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
