"""Errors of the endpoints app.js calls (POST /codes/send, /password/strength), answered in JSON:
{ok: false, message, retry_after}, the message in the page's language, never the HTML error page."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from ..errors import CSRF_MESSAGE, ERROR_PAGES, database_unavailable
from ..extensions import limiter


def answer(ok: bool, message, status: int, retry_after: int | None = None):
    # The body's retry_after is the one to follow: Flask-Limiter sets Retry-After to its own window.
    return jsonify(ok=ok, message=str(message), retry_after=retry_after), status


def too_many(_error):
    """A per-IP or per-login limit; the countdown waits until the limit's window lets a request through."""
    limit = limiter.current_limit
    retry_after = max(1, int(limit.reset_at - time.time())) if limit else None
    return answer(False, ERROR_PAGES[429][1], 429, retry_after)


def csrf_refused(_error):
    return answer(False, CSRF_MESSAGE, 400)


def refused(error):
    """Unreadable (security.refuse_unusable_input), too large, or the session store out of reach."""
    return answer(False, ERROR_PAGES[error.code][1], error.code)


def database_down(error: OperationalError):
    database_unavailable(error)
    return answer(False, ERROR_PAGES[503][1], 503)


def answer_errors_in_json(bp: Blueprint) -> None:
    bp.register_error_handler(429, too_many)
    bp.register_error_handler(CSRFError, csrf_refused)
    for code in (400, 413, 503):
        bp.register_error_handler(code, refused)
    bp.register_error_handler(OperationalError, database_down)
