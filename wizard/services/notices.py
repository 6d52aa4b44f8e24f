"""Emails that tell a customer something (no code in them): `send_notice(kind, to, language, **values)`.

Each kind has a subject here and its text in `templates/email/<kind>.txt` and `.html`, written in
`language`. Sent now, in the request, through wizard/email.py; a mail server that is down or
silent is logged and does not fail the page that caused the notice.
"""

from __future__ import annotations

import smtplib

from flask import current_app, render_template
from flask_babel import force_locale

from ..email import send_email
from ..i18n import lazy_gettext as _l

SUBJECTS = {
    "login_locked": _l("观测云账号密码登录已暂停"),
}


def render_notice(kind: str, language: str, **values) -> tuple[str, str, str]:
    """Subject, text and HTML of a notice, in `language`."""
    with force_locale(language):
        subject = str(SUBJECTS[kind])
        context = {"subject": subject, "language": language, **values}
        text = render_template(f"email/{kind}.txt", **context)
        html = render_template(f"email/{kind}.html", **context)
    return subject, text, html


def send_notice(kind: str, to: str, language: str, **values) -> None:
    subject, text, html = render_notice(kind, language, **values)
    try:
        send_email(subject, [to], text, html)
    except (OSError, smtplib.SMTPException):
        current_app.logger.warning("notice %s not delivered", kind, exc_info=True)
