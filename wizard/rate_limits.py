"""The per-IP limits' storage: the application's own database by default, Redis when REDIS_URL is set.

Flask-Limiter counts through a `limits` storage; limits ships Redis, Memcached, MongoDB and memory
ones, but nothing on SQL, and `memory://` keeps one count per worker process (with 2 gunicorn
workers every limit doubled, and two hosts kept separate counts). `database://` here is limits'
fixed-window counter on table `rate_limit_counter`: every hit is one atomic upsert on its own
connection (never the request's transaction), so all workers and instances of one database share
each count exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from limits.storage import Storage
from sqlalchemy import Integer, bindparam, case, delete, literal, select, text
from sqlalchemy.exc import SQLAlchemyError

from . import clock
from .db_types import Timestamp
from .extensions import db
from .models import RateLimitCounter as Counter
from .upsert import upsert


def _at(moment: datetime):
    return literal(moment, Timestamp())


# Both statements run on every hit of a limited route; built once (SQLAlchemy's construction and cache
# key of the upsert with its CASEs cost about as much as running it on SQLite).
_NOW, _EXPIRES_AT = bindparam("now", type_=Timestamp()), bindparam("expires_at", type_=Timestamp())
_LIVE = select(Counter.count, Counter.expires_at).where(Counter.key == bindparam("key"), Counter.expires_at > _NOW)


@cache
def _count_hit(dialect: str):
    """Add `amount` to the key's count, or start a new window at `amount` when the current one is over."""
    amount, over = bindparam("amount", type_=Integer()), Counter.expires_at <= _NOW
    return upsert(
        dialect,
        Counter,
        {"key": bindparam("key"), "count": amount, "expires_at": _EXPIRES_AT},
        key="key",
        update={
            "count": case((over, amount), else_=Counter.count + amount),
            "expires_at": case((over, _EXPIRES_AT), else_=Counter.expires_at),
        },
    ).returning(Counter.count)


class DatabaseStorage(Storage):
    """`RATELIMIT_STORAGE_URI=database://`: counters in the application's database (Flask-SQLAlchemy's engine)."""

    STORAGE_SCHEME = ["database"]

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's count and return it; a window that is over starts again from `amount`."""
        now = clock.now()
        values = {"key": key, "amount": amount, "now": now, "expires_at": now + timedelta(seconds=expiry)}
        with db.engine.begin() as connection:
            return connection.execute(_count_hit(db.engine.dialect.name), values).scalar_one()

    def _live(self, key: str):
        with db.engine.connect() as connection:
            return connection.execute(_LIVE, {"key": key, "now": clock.now()}).first()

    def get(self, key: str) -> int:
        row = self._live(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return (row.expires_at if row else clock.now()).timestamp()

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(Counter)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(Counter).where(Counter.key == key))

    def prune(self) -> int:
        """Delete the counters whose window is over (`flask limits prune`, from cron)."""
        with db.engine.begin() as connection:
            return connection.execute(delete(Counter).where(Counter.expires_at <= _at(clock.now()))).rowcount
