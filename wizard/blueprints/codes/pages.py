"""What a wizard page calls for its 验证码: the shared per-IP limit, 获取验证码 without JavaScript, the check."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from wtforms import PasswordField

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
    try:
        sent = codes.request_code(purpose, identifier, page_language())
    except codes.SendRefused as refusal:
        return CodeStatus(False, str(refusal.message), refusal.retry_after)
    return CodeStatus(True, str(sent.message), sent.retry_after)


def _per_ip_limit() -> str:
    return f"{current_app.config['CODE_SENDS_PER_IP_PER_HOUR']} per hour"


def _not_a_send() -> bool:
    """Only what can send a code counts: POST /codes/send and a page's 获取验证码 submission."""
    return request.endpoint != "codes.send" and SEND_FIELD not in request.form


# One limit object for every route, so they all draw from the same per-IP count.
send_limit = limiter.shared_limit(_per_ip_limit, scope="verification-code-send", exempt_when=_not_a_send)


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
    """Check the typed code for the identifier field; a refusal becomes the code field's error."""
    try:
        codes.verify_code(purpose, form[source].data, form.code.data)
    except codes.CodeRejected as refusal:
        form.code.errors = [*form.code.errors, refusal.message]
        form.code.data = ""
        return False
    return True


def _forget_secrets(form) -> None:
    """What is typed again on purpose: passwords and the code are never sent back to the browser."""
    form.code.data = ""
    for field in form:
        if isinstance(field, PasswordField):
            field.data = ""
