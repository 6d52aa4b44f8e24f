"""What a wizard page calls for its 验证码: the shared per-IP limit, 获取验证码 without JavaScript, the check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import current_app, request
from wtforms import PasswordField

from ... import flow
from ...extensions import limiter, savepoint
from ...i18n import page_language
from ...services import codes
from ...services.refusals import Refused

SEND_FIELD = "send_code"
T = TypeVar("T")


@dataclass(frozen=True)
class CodeStatus:
    """The outcome of 获取验证码, as the page and the JSON endpoint show it."""

    ok: bool
    message: str
    retry_after: int | None = None


def request_status(purpose: str, identifier: str) -> CodeStatus:
    """Send a code in the page's language; any refusal becomes a message, never an error page."""
    login = flow.current_login()
    requester = codes.Requester(login.ali_uid, login.instance_id) if login else None
    try:
        sent = codes.request_code(purpose, identifier, page_language(), requester)
    except codes.SendRefused as refusal:
        return CodeStatus(False, str(refusal.message), refusal.retry_after)
    return CodeStatus(True, str(sent.message), sent.retry_after)


def _per_ip_limit() -> str:
    return f"{current_app.config['CODE_SENDS_PER_IP_PER_HOUR']} per hour"


def _not_a_send() -> bool:
    """Only what can send a code counts: POST /codes/send and a page's 获取验证码 submission."""
    return request.endpoint != "codes.send" and SEND_FIELD not in request.form


def _per_login_limit() -> str:
    return f"{current_app.config['CODE_SENDS_PER_SESSION_PER_HOUR']} per hour"


def _login_key() -> str:
    login = flow.current_login()
    return f"aliuid:{login.ali_uid}" if login else "none"


def _not_a_wizard_send() -> bool:
    return _not_a_send() or flow.current_login() is None  # without a login nothing is sent (codes.send)


# Limit objects shared by every route, so they all draw from the same counts. Both come before the
# per-address cap (services/codes.py): a wizard login asks for fewer codes an hour than one address
# may receive, so nobody can use up someone else's codes alone.
_per_ip = limiter.shared_limit(_per_ip_limit, scope="verification-code-send", exempt_when=_not_a_send)
_per_login = limiter.shared_limit(
    _per_login_limit, scope="verification-code-send-login", key_func=_login_key, exempt_when=_not_a_wizard_send
)


def send_limit(view):
    """The per-IP and per-wizard-login limits of 获取验证码 (pages and POST /codes/send together)."""
    return _per_ip(_per_login(view))


def handle_send_code(form, source: str, purpose: str) -> bool:
    """Answer 获取验证码 if that is what was pressed: True when the page should simply re-render."""
    if not (form.is_submitted() and form[SEND_FIELD].data):
        return False
    field = form[source]
    inline = getattr(type(form), f"validate_{source}", None)
    if field.validate(form, [inline] if inline else []):
        form.code_status = request_status(purpose, field.data)
    _forget_secrets(form)
    return True


def redeem_code(form, source: str, purpose: str, action: Callable[[], T]) -> T:
    """The one rule for every form that takes a code: check the code without using it up (a wrong one
    costs a try), then run `action`, which checks the rest and does the work, and use the code up in
    the same unit of work: committed together, or neither.

    Raises Refused: codes.CodeRejected (wrong, expired, or used by another tab meanwhile), or the
    action's own, the code then still valid. A refusal after a right code costs the code a try
    (services/codes.py, spend_try): what it tells (a username taken) comes no faster than guesses.
    """
    code_id = codes.check_code(purpose, form[source].data, form.code.data)
    try:
        with savepoint():  # a savepoint in the view's unit: the code and the action, or neither
            codes.use_up(code_id)
            return action()
    except codes.CodeRejected:
        raise
    except Refused:
        codes.spend_try(code_id)
        raise


def _forget_secrets(form) -> None:
    """What is typed again on purpose: passwords and the code are never sent back to the browser."""
    form.code.data = ""
    for field in form:
        if isinstance(field, PasswordField):
            field.data = ""
