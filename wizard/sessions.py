"""Server-side sessions that can be revoked (Flask-Session), with an absolute and an idle lifetime.

The cookie carries only a random id (32 bytes from `secrets`); the data stays on the server:
table `web_session` by default, Redis (Flask-Session's backend) when REDIS_URL is set. Logging
out deletes the stored session, so no copy of the cookie opens anything any more, and login and
免登 move the session to a new id (`renew`), deleting the old one.

Flask-Session's own SQLAlchemy backend is not used: it declares its model again for every
application (an application factory then fails with "Table 'sessions' is already defined"),
creates its table outside Alembic, and commits the request's own database session when it saves
(whatever the view left in it). DatabaseSessions keeps the same serialized data in `web_session`
(an Alembic migration); it reads on the request's own connection, and writes there only after the
view's transaction has ended, so the commit holds the session alone.

Lifetimes run on wizard.clock (tests move it): `_started` is stamped when a session is first
stored (a new one starts at login and at 免登), `_seen` at most once a minute while it is used, so
use alone never writes more than that. A session older than SESSION_LIFETIME_SECONDS, or unused
for SESSION_IDLE_SECONDS, is deleted when it is next presented; the request goes on with a new,
empty session. Nothing extends `_started`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import cast

import redis
from flask import Flask, Request, Response, current_app, request, session
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from sqlalchemy import BindParameter, bindparam, delete, literal, select
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ServiceUnavailable

from . import clock
from .db_types import Timestamp
from .extensions import db
from .models import WebSession
from .upsert import upsert

STARTED, SEEN = "_started", "_seen"
TOUCH_SECONDS = 60  # how stale `_seen` may get before a request writes it again
# A store that cannot be reached: the database (OperationalError) or Redis.
STORE_ERRORS = (OperationalError, redis.RedisError)


# Built once: every request that carries a session cookie runs it, and building it cost as much as
# running it (SQLAlchemy's statement construction and cache key, ~0.25 ms on SQLite).
_READ_SESSION = select(WebSession.data).where(
    WebSession.id == bindparam("id"), WebSession.expires_at > bindparam("now", type_=Timestamp())
)


@cache
def _write_session(dialect: str):
    """The session's upsert, built once per dialect like the read: every request that changes a session runs it."""
    data: BindParameter[bytes] = bindparam("data")
    expires_at: BindParameter[datetime] = bindparam("expires_at", type_=Timestamp())
    values = {"id": bindparam("id"), "data": data, "expires_at": expires_at}
    return upsert(dialect, WebSession, values, key="id", update={"data": data, "expires_at": expires_at})


class SessionStoreUnavailable(ServiceUnavailable):
    """The session could not be read: the styled 503 (JSON on /codes/send), never a half-working page."""


def _deadline(session: ServerSideSession, config) -> float:
    """When the session ends (Unix time): the earlier of its absolute and its idle deadline."""
    started, seen = session.get(STARTED), session.get(SEEN)
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return 0.0
    return min(started + config["SESSION_LIFETIME_SECONDS"], seen + config["SESSION_IDLE_SECONDS"])


def _stamp(session: ServerSideSession) -> None:
    now = clock.now().timestamp()
    if STARTED not in session:
        session[STARTED] = session[SEEN] = now
    elif now - session.get(SEEN, 0) >= TOUCH_SECONDS:
        session[SEEN] = now


class Lifetimes(ServerSideSessionInterface):
    """What both stores add to Flask-Session: the lifetimes, static files without a lookup, outages."""

    def stored(self, sid: str) -> dict | None:
        """What the store holds for a session id (operators' tools and tests); None when nothing."""
        return self._retrieve_session_data(self._get_store_id(sid))

    def _fresh(self) -> ServerSideSession:
        return self.session_class(sid=self._generate_sid(self.sid_length), permanent=self.permanent)

    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        if request.path.startswith(f"{app.static_url_path}/"):
            return self._fresh()  # a stylesheet needs no session: no lookup, and nothing is saved
        try:
            session = super().open_session(app, request)
            if session and _deadline(session, app.config) <= clock.now().timestamp():
                self._delete_session(self._get_store_id(session.sid))
                return self._fresh()
        except STORE_ERRORS as error:
            app.logger.warning("session store unavailable: %s", error)
            db.session.rollback()  # the request may still use the database once it is back
            session = self._fresh()
            session.unavailable = True
        return session

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if getattr(session, "unavailable", False):
            return  # the stored session is still there; an empty one must not replace it
        if session:
            _stamp(session)
        super().save_session(app, session, response)


class DatabaseSessions(Lifetimes, ServerSideSessionInterface):
    """Sessions in table web_session; `flask session_cleanup` (Flask-Session's command) prunes them."""

    ttl = False  # no expiry of its own in SQL: Flask-Session registers the cleanup command

    def __init__(self, app: Flask) -> None:
        super().__init__(app, permanent=app.config["SESSION_PERMANENT"])

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        # The view is done: what it left uncommitted would be rolled back at teardown anyway. Ending
        # it now releases SQLite's write lock, and lets the write below commit nothing but itself.
        db.session.rollback()
        super().save_session(app, session, response)

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        # On the request's own connection (no checkout of its own, no second pre-ping on PostgreSQL),
        # through Core: one column of one row needs no ORM, and the statement is built once.
        row = {"id": store_id, "now": clock.now()}
        data = db.session.connection().execute(_READ_SESSION, row).scalar()
        return self.serializer.decode(data) if data is not None else None

    def _delete_session(self, store_id: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(WebSession).where(WebSession.id == store_id))

    def _upsert_session(self, _lifetime, session: ServerSideSession, store_id: str) -> None:
        # After the view (save_session ended its transaction): on the request's own connection, so a
        # write costs no checkout of its own (nor, on PostgreSQL, a second pre-ping); through Core, as the read.
        expires_at = datetime.fromtimestamp(_deadline(session, self.app.config), UTC)
        values = {"id": store_id, "data": self.serializer.encode(session), "expires_at": expires_at}
        db.session.connection().execute(_write_session(db.engine.dialect.name), values)
        db.session.commit()

    def _delete_expired_sessions(self) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(WebSession).where(WebSession.expires_at <= literal(clock.now(), Timestamp())))


class RedisSessions(Lifetimes, RedisSessionInterface):
    """Sessions in Redis; each key expires with the session (Redis's own clock)."""

    def __init__(self, app: Flask, client: redis.Redis) -> None:
        super().__init__(app, client=client, permanent=app.config["SESSION_PERMANENT"])

    def _upsert_session(self, _lifetime, session: ServerSideSession, store_id: str) -> None:
        seconds = max(1, int(_deadline(session, self.app.config) - clock.now().timestamp()))
        self.client.set(name=store_id, value=self.serializer.encode(session), ex=seconds)


def renew() -> None:
    """A new session id holding nothing of the old session, which is deleted (login, 免登, logout)."""
    # create_app installs DatabaseSessions or RedisSessions, both Flask-Session's ServerSideSessionInterface
    cast(ServerSideSessionInterface, current_app.session_interface).regenerate(session)
    session.clear()


def require_store() -> None:
    """For pages that need the session: when it could not be read, the 503 instead of a blank state."""
    if getattr(session, "unavailable", False):
        raise SessionStoreUnavailable()


def _refuse_writes_without_store() -> None:
    # Every POST needs the session (its CSRF token at least): without the store, a clear 503.
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        require_store()


def register_sessions(app: Flask) -> None:
    if app.config["REDIS_URL"]:
        client = redis.Redis.from_url(app.config["REDIS_URL"])
        app.extensions["redis"] = client
        app.session_interface = RedisSessions(app, client)
    else:
        app.session_interface = DatabaseSessions(app)
    # Before CSRFProtect's check, which would otherwise call the missing token a stale page.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_writes_without_store)
