"""INSERT ... ON CONFLICT DO UPDATE on both databases (SQLite 3.24+ and PostgreSQL spell it alike)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

# Typed as the dialects' own Insert (each has on_conflict_*), not the common sqlalchemy.Insert a plain
# dict's inferred type would fall back to.
INSERTS: dict[str, Callable[[Any], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def upsert(
    dialect: str, model, values: Mapping[str, Any], key: str, update: Mapping[str, Any]
) -> sqlite.Insert | postgresql.Insert:
    """An INSERT of `values` that, when a row with the same `key` exists, applies `update` to it instead.

    `update`'s expressions may read the existing row through the model's columns: one statement,
    so two simultaneous writers cannot both see "no row yet".
    """
    return INSERTS[dialect](model).values(**values).on_conflict_do_update(index_elements=[key], set_=dict(update))
