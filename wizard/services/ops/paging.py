"""Keyset pagination: "the next page starts after this row", never OFFSET.

An OFFSET makes the database walk and drop every earlier row (page 2,000 of a million-row audit log
reads 100,000 rows); a keyset condition starts where the last page stopped, on the same index the
ORDER BY uses, so every page costs the same. Pages go newest first on (time, id); the cursor is
that pair for the last row shown, written `<microseconds>.<id>` in the URL. A cursor that does not
parse is ignored (the first page), never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import literal, tuple_

from ...db_types import Timestamp
from ...extensions import db

_CURSOR = re.compile(r"(-?[0-9]{1,19})\.([0-9A-Za-z_.:-]{1,64})")


@dataclass(frozen=True)
class Cursor:
    at: datetime
    key: str  # the row's id (a number, or a text key such as an instanceId)

    def encode(self) -> str:
        micros = int(self.at.timestamp() * 1_000_000)
        return f"{micros}.{self.key}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        match = _CURSOR.fullmatch(text or "")
        if match is None:
            return None
        try:
            at = datetime.fromtimestamp(int(match.group(1)) / 1_000_000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return cls(at, match.group(2))


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None = None
    extra: dict = field(default_factory=dict)


def _key_literal(column, key: str):
    """The cursor's key as the column's type: an integer id, or text."""
    python_type = getattr(column.type, "python_type", str)
    if python_type is int:
        return literal(int(key)) if key.isdigit() and int(key) < 2**63 else None
    return literal(key)


def newest_first(statement, at_column, key_column, cursor: Cursor | None, size: int, key_of=None) -> Page:
    """Run `statement` (a select whose rows carry `at_column` and `key_column`) one page at a time.

    `key_of(row)` gives (time, key) of a row; by default the row's own attributes of those names.
    """
    if cursor is not None:
        key = _key_literal(key_column, cursor.key)
        if key is not None:
            statement = statement.where(tuple_(at_column, key_column) < tuple_(literal(cursor.at, Timestamp()), key))
    rows = list(db.session.execute(statement.order_by(at_column.desc(), key_column.desc()).limit(size + 1)))
    page = Page(rows=rows[:size])
    if len(rows) > size:
        at, key = (key_of or _default_key(at_column, key_column))(rows[size - 1])
        page.next_cursor = Cursor(at, str(key)).encode()
    return page


def _default_key(at_column, key_column):
    def key_of(row):
        mapping = row._mapping
        return mapping[at_column.key], mapping[key_column.key]

    return key_of
