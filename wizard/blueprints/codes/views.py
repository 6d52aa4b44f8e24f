"""POST /codes/send: 获取验证码 without a reload, answered in JSON for app.js."""

from __future__ import annotations

import time

from flask import jsonify
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from ... import flow
from ...errors import CSRF_MESSAGE, ERROR_PAGES, database_unavailable
from ...extensions import limiter
from ...forms import CodeRequestForm
from . import bp
from .pages import CodeStatus, request_status, send_limit


@bp.post("/send")
@send_limit
def send():
    """{ok, message, retry_after}: 200 sent, 400 bad input, 401 no wizard login, 429 wait, 503 mail down."""
    if flow.current_login() is None:  # only a customer in the wizard may have codes sent
        return _answer(CodeStatus(False, str(flow.NO_WIZARD_LOGIN)), 401)
    form = CodeRequestForm()
    if not form.validate():
        return _answer(CodeStatus(False, str(_first_error(form))), 400)
    status = request_status(form.purpose.data, form.identifier.data)
    if status.ok:
        return _answer(status, 200)
    return _answer(status, 429 if status.retry_after else 503)


def _first_error(form) -> str:
    return next(iter(form.errors.values()))[0]


def _answer(status: CodeStatus, code: int):
    # The body's retry_after is the one to follow: Flask-Limiter sets Retry-After to its own window.
    return jsonify(ok=status.ok, message=status.message, retry_after=status.retry_after), code


@bp.errorhandler(429)
def too_many_sends(_error):
    """The per-IP limit, in JSON; the countdown waits until the limit's window lets a send through."""
    limit = limiter.current_limit
    retry_after = max(1, int(limit.reset_at - time.time())) if limit else None
    return _answer(CodeStatus(False, str(ERROR_PAGES[429][1]), retry_after), 429)


@bp.errorhandler(CSRFError)
def csrf_refused(_error):
    return _answer(CodeStatus(False, str(CSRF_MESSAGE)), 400)


@bp.errorhandler(400)
def bad_request(_error):
    """A request no form could read (security.refuse_unusable_input): JSON too, for app.js."""
    return _answer(CodeStatus(False, str(ERROR_PAGES[400][1])), 400)


@bp.errorhandler(413)
@bp.errorhandler(503)
def refused_in_json(error):
    """Too large a request, or the session store out of reach: JSON too, for app.js."""
    return _answer(CodeStatus(False, str(ERROR_PAGES[error.code][1])), error.code)


@bp.errorhandler(OperationalError)
def database_down(error: OperationalError):
    database_unavailable(error)
    return _answer(CodeStatus(False, str(ERROR_PAGES[503][1])), 503)
