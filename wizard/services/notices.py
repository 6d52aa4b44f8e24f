"""Emails that tell a customer what happened: one `send_notice(kind, to, language, **values)` for all.

A kind is a pair of templates, email/<kind>.txt and email/<kind>.html, and a subject below; both
are rendered in `language` ("zh" or "en"), whatever the current page's language is. `values` are
plain data (strings, numbers, aware datetimes) so that a task queue can carry them.

This implementation sends at once, over SMTP. A state change sends its emails after its commit
(`after_commit`), never for a transaction that rolled back, and a mail server that is down costs
the customer an email (logged), never the change itself.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import event

from ..email import send_email
from ..extensions import db
from ..i18n import gettext, ngettext

_OUTBOX = "notices_after_commit"


# Each kind's subject, in the language forced while rendering; the values are the email's.
SUBJECTS: dict[str, Callable[[dict], str]] = {
    "countdown_started": lambda v: ngettext(
        "工作空间「%(workspace)s」将于 %(num)s 天后锁定", "工作空间「%(workspace)s」将于 %(num)s 天后锁定",
        v["days"], workspace=v["workspace"],
    ),
    "lock_reminder": lambda v: ngettext(
        "提醒：工作空间「%(workspace)s」将于 %(num)s 天后锁定", "提醒：工作空间「%(workspace)s」将于 %(num)s 天后锁定",
        v["days"], workspace=v["workspace"],
    ),
    "locked": lambda v: gettext("工作空间「%(workspace)s」已锁定，数据已删除", workspace=v["workspace"]),
    "unlocked": lambda v: gettext("工作空间「%(workspace)s」已解锁", workspace=v["workspace"]),
    "released": lambda v: gettext("工作空间「%(workspace)s」已转为费用中心账号结算", workspace=v["workspace"]),
    "dissolved": lambda v: gettext("工作空间「%(workspace)s」已解散", workspace=v["workspace"]),
}  # fmt: skip


def send_notice(kind: str, to: str, language: str, **values) -> None:
    """Send the `kind` email to `to`, written in `language`. Raises what SMTP raises."""
    if kind not in SUBJECTS:
        raise ValueError(f"unknown notice {kind!r}")
    with force_locale(language):
        subject = SUBJECTS[kind](values)
        text = render_template(f"email/{kind}.txt", subject=subject, language=language, **values)
        html = render_template(f"email/{kind}.html", subject=subject, language=language, **values)
    send_email(subject, [to], text, html)


def after_commit(kind: str, to: str, language: str, **values) -> None:
    """send_notice once the current transaction commits; nothing if it rolls back."""
    db.session.info.setdefault(_OUTBOX, []).append((kind, to, language, values))


def _deliver_outbox(session) -> None:
    for kind, to, language, values in session.info.pop(_OUTBOX, []):
        try:
            send_notice(kind, to, language, **values)
        except (OSError, smtplib.SMTPException):
            current_app.logger.warning("notice %s to %s not delivered", kind, to, exc_info=True)


def _drop_outbox(session, *_args) -> None:
    session.info.pop(_OUTBOX, None)


def register_outbox() -> None:
    """Deliver queued notices after each commit of the application's database session."""
    if not event.contains(db.session, "after_commit", _deliver_outbox):
        event.listen(db.session, "after_commit", _deliver_outbox)
        event.listen(db.session, "after_soft_rollback", _drop_outbox)
