"""Who is signed in to the console, kept apart from customer logins.

A signed-in operator is `ops_operator_id` in the server-side session, set only after both factors,
on a new session id (sessions.renew: nothing of a customer's login, Flask-Login's `_user_id`
included, survives it; a customer's login or 免登 renews the session the same way, so one browser
session is never both). The console's pages ask `current_operator()`, which re-reads the operator
(disabled: signed out) and ends the console's session after OPS_SESSION_IDLE_SECONDS without a
request (shorter than the customers' idle timeout; the 8-hour absolute lifetime is the session's).
Between the password and the TOTP code the session holds only the operator's id, for
PENDING_SECONDS and MAX_CODE_TRIES codes.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, redirect, request, session, url_for

from ... import clock, sessions
from ...extensions import db
from ...observability import logs
from ...observability.requests import request_id
from ...ops_models import Operator
from ...services.ops.audit import Actor

OPERATOR_KEY, USERNAME_KEY, SEEN_KEY, PENDING_KEY = "ops_operator_id", "ops_username", "ops_seen", "ops_pending"
PENDING_SECONDS = 300
MAX_CODE_TRIES = 5


def _now() -> float:
    return clock.now().timestamp()


def sign_in(operator: Operator) -> None:
    sessions.renew()
    session[OPERATOR_KEY], session[USERNAME_KEY], session[SEEN_KEY] = operator.id, operator.username, _now()


def sign_out() -> None:
    sessions.renew()


def current_operator() -> Operator | None:
    if "operator" in g:
        return g.operator
    g.operator = None
    operator_id = session.get(OPERATOR_KEY)
    if operator_id is None:
        return None
    if _now() - session.get(SEEN_KEY, 0) > current_app.config["OPS_SESSION_IDLE_SECONDS"]:
        sign_out()
        return None
    operator = db.session.get(Operator, operator_id)
    if operator is None or operator.disabled_at is not None:
        sign_out()
        return None
    if _now() - session.get(SEEN_KEY, 0) >= 60:
        session[SEEN_KEY] = _now()
    g.operator = operator
    logs.bind(operator=operator.username)
    return operator


def operator_required(view):
    """The console's pages: a signed-in operator, else the sign-in page (then back here)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        sessions.require_store()
        operator = current_operator()
        if operator is None:
            return redirect(url_for("ops.login", next=request.full_path.rstrip("?")))
        return view(operator, *args, **kwargs)

    return guarded


def actor(operator: Operator | None = None, username: str | None = None) -> Actor:
    return Actor(
        operator.id if operator else None,
        operator.username if operator else (username or "")[:64],
        request.remote_addr,
        request_id(),
    )


def hold_pending(operator: Operator) -> None:
    """The password was right: the TOTP step may follow, in this new session, for a while."""
    sessions.renew()
    session[PENDING_KEY] = {"id": operator.id, "at": _now(), "tries": 0}


def pending_operator() -> Operator | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or _now() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    operator = db.session.get(Operator, pending.get("id"))
    return operator if operator is not None and operator.disabled_at is None else None


def count_wrong_code() -> bool:
    """One more wrong code; False when the tries are used up (the password must be typed again)."""
    pending = dict(session.get(PENDING_KEY) or {})
    pending["tries"] = pending.get("tries", 0) + 1
    if pending["tries"] >= MAX_CODE_TRIES:
        session.pop(PENDING_KEY, None)
        return False
    session[PENDING_KEY] = pending
    return True
