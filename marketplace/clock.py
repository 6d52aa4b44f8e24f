"""The simulator's one source of "now" (UTC, timezone-aware), so tests can move its clock."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
