"""What a wizard page calls for its 验证码: the shared per-IP limit, 获取验证码 without JavaScript, the check."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from wtforms import PasswordField

from ... import flow
from ...extensions import limiter
from ...i18n import page_language
from ...services import codes

SEND_FIELD = "send_code"


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


def code_is_valid(form, source: str, purpose: str) -> bool:
    """Check the typed code for the identifier field, and use it up; a refusal becomes the code field's error."""
    code_id = checked_code(form, source, purpose)
    return code_id is not None and code_used(form, code_id)


def checked_code(form, source: str, purpose: str) -> int | None:
    """The right code's id, not yet used up (then `code_used` or `codes.spend_try`); None with the error shown."""
    try:
        return codes.check_code(purpose, form[source].data, form.code.data)
    except codes.CodeRejected as refusal:
        _refused(form, refusal)
        return None


def code_used(form, code_id: int) -> bool:
    try:
        codes.use(code_id)
    except codes.CodeRejected as refusal:  # another tab used it a moment ago
        _refused(form, refusal)
        return False
    return True


def _refused(form, refusal: codes.CodeRejected) -> None:
    form.code.errors = [*form.code.errors, refusal.message]
    form.code.data = ""


def _forget_secrets(form) -> None:
    """What is typed again on purpose: passwords and the code are never sent back to the browser."""
    form.code.data = ""
    for field in form:
        if isinstance(field, PasswordField):
            field.data = ""
