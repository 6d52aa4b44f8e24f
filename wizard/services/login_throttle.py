"""Per-account throttling of password logins (ASVS 2.2.1), whatever address the guesses come from.

Counted per (site, username) in the database (table login_attempt) or, when REDIS_URL is set, in
Redis: every worker and instance shares one count. An unknown username is counted and answered
exactly like a real one, so the throttle tells nobody which accounts exist.

Rules (settings, wizard/config.py), over the last hour:
- the first LOGIN_FAILURES_BEFORE_DELAY failures are free;
- after the n-th failure the next attempt must wait 2^(n - free) seconds, at most
  LOGIN_DELAY_MAX_SECONDS, after the previous one;
- after LOGIN_FAILURES_PER_HOUR failures the account refuses password logins until the oldest of
  them is an hour old; the attempt that reaches the cap tells its owner by email (once).
A refused attempt checks no password and counts for nothing. Nothing sleeps: the answer says how
long to wait, since a sleeping request would hold one of a worker's few threads per guess and
turn the delay into a denial of service.

An attempt is written before its password is checked and deleted when the password was right,
and it is judged against every other attempt of the hour: of simultaneous guesses at the cap or
inside a wait, at most one goes on, so the cap holds exactly under load.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, insert, literal, select

from .. import clock
from ..db_types import Timestamp
from ..extensions import db
from ..i18n import lazy_ngettext as _ln
from ..models import LoginAttempt
from .accounts import normalize_username
from .refusals import Refused

HOUR = timedelta(hours=1)


class LoginThrottled(Refused):
    """No password was checked: `retry_after` seconds to wait, `message` says so next to the password."""

    def __init__(self, retry_after: int, locked: bool) -> None:
        super().__init__(self._explained(retry_after, locked), "password")
        self.retry_after, self.locked = retry_after, locked

    @staticmethod
    def _explained(retry_after: int, locked: bool):
        if locked:
            minutes = math.ceil(retry_after / 60)
            return _ln(
                "密码错误次数过多，该账号暂停密码登录，请 %(minutes)s 分钟后再试",
                "密码错误次数过多，该账号暂停密码登录，请 %(minutes)s 分钟后再试",
                minutes,
                minutes=minutes,
            )
        return _ln(
            "密码错误次数过多，请 %(seconds)s 秒后再试",
            "密码错误次数过多，请 %(seconds)s 秒后再试",
            retry_after,
            seconds=retry_after,
        )


@dataclass(frozen=True)
class Rules:
    free: int
    max_delay: int
    per_hour: int

    def wait_after(self, failures: int) -> timedelta:
        """How long after the latest failure the next attempt may come."""
        if failures < self.free:
            return timedelta(0)
        return timedelta(seconds=min(2 ** (failures - self.free), self.max_delay))


def rules() -> Rules:
    config = current_app.config
    return Rules(
        config["LOGIN_FAILURES_BEFORE_DELAY"], config["LOGIN_DELAY_MAX_SECONDS"], config["LOGIN_FAILURES_PER_HOUR"]
    )


def account_key(site: str, username: str) -> str:
    """HMAC of site and username: the store never holds what was typed."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else secret.encode()
    message = "\x1f".join(("login-throttle", site, normalize_username(username))).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


# ---- Where attempts are kept ----


class DatabaseAttempts:
    """Rows of login_attempt, each write on a connection of its own (never the request's transaction)."""

    def record(self, key: str, now: datetime) -> tuple[int, list[datetime]]:
        with db.engine.begin() as connection:
            token = connection.execute(
                insert(LoginAttempt).values(account_key=key, attempted_at=now).returning(LoginAttempt.id)
            ).scalar_one()
        with db.engine.connect() as connection:
            others = connection.execute(
                select(LoginAttempt.attempted_at)
                .where(
                    LoginAttempt.account_key == key,
                    LoginAttempt.attempted_at > literal(now - HOUR, Timestamp()),
                    LoginAttempt.id != token,
                )
                .order_by(LoginAttempt.attempted_at)
            ).scalars()
            return token, list(others)

    def forget(self, key: str, token: int) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(LoginAttempt).where(LoginAttempt.id == token))

    def prune(self, now: datetime) -> int:
        with db.engine.begin() as connection:
            cutoff = literal(now - HOUR, Timestamp())
            return connection.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at <= cutoff)).rowcount


class RedisAttempts:
    """A sorted set per account (score: the attempt's time), trimmed to the hour in the same MULTI."""

    def __init__(self, client) -> None:
        self.client = client

    def record(self, key: str, now: datetime) -> tuple[str, list[datetime]]:
        name, token, stamp = f"login-attempts:{key}", uuid.uuid4().hex, now.timestamp()
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", stamp - HOUR.total_seconds())
            pipe.zadd(name, {token: stamp})
            pipe.zrange(name, 0, -1, withscores=True)
            pipe.expire(name, int(HOUR.total_seconds()))
            entries = pipe.execute()[2]
        others = [datetime.fromtimestamp(score, UTC) for member, score in entries if member.decode() != token]
        return token, others

    def forget(self, key: str, token: str) -> None:
        self.client.zrem(f"login-attempts:{key}", token)

    def prune(self, now: datetime) -> int:
        return 0  # every key expires an hour after its latest attempt


def store():
    client = current_app.extensions.get("redis")
    return RedisAttempts(client) if client is not None else DatabaseAttempts()


# ---- The decision ----


def _judge(earlier: list[datetime], now: datetime, rules: Rules) -> None:
    """Raise LoginThrottled when an attempt after `earlier` (this hour's other attempts) must wait."""
    if len(earlier) >= rules.per_hour:
        unlocked_at = earlier[len(earlier) - rules.per_hour] + HOUR
        raise LoginThrottled(_seconds_until(unlocked_at, now), locked=True)
    if earlier and now < earlier[-1] + rules.wait_after(len(earlier)):
        raise LoginThrottled(_seconds_until(earlier[-1] + rules.wait_after(len(earlier)), now), locked=False)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


@dataclass
class Attempt:
    """One password check in progress: the caller sets `succeeded`."""

    earlier: list[datetime]
    now: datetime
    rules: Rules
    succeeded: bool = False

    @property
    def locks_account(self) -> bool:
        """This failure is the one that reaches the hourly cap (exactly one attempt ever sees that)."""
        return not self.succeeded and len(self.earlier) + 1 == self.rules.per_hour

    @property
    def unlocked_at(self) -> datetime:
        return [*self.earlier, self.now][-self.rules.per_hour] + HOUR


@contextmanager
def attempt(site: str, username: str):
    """Around a password check: raises LoginThrottled before it, counts it as a failure unless it succeeded."""
    key, now, kept = account_key(site, username), clock.now(), store()
    token, earlier = kept.record(key, now)
    current = Attempt(earlier, now, rules())
    try:
        _judge(earlier, now, current.rules)
        yield current
    except BaseException:
        kept.forget(key, token)  # refused, or the check itself failed: no password was judged wrong
        raise
    if current.succeeded:
        kept.forget(key, token)


def prune() -> int:
    """Delete attempts older than an hour (`flask logins prune`, from cron; Redis expires its own)."""
    return store().prune(clock.now())
