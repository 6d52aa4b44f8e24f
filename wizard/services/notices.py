"""Email notices: every email other than a verification code goes out through `send_notice`.

    send_notice("workspace_locked", owner.email, owner_language, workspace=workspace.name)
    # queued when the unit of work that decided it commits (the view, task or command: README, Architecture)

A notice is a row of email_notice written in the caller's transaction (so a rollback sends
nothing), queued for the worker when that transaction commits, and mailed by it with the queue's
retries and backoff. The worker mails a notice only while its row is queued, so running the task
twice sends it once. What each kind says is its entry in KINDS: a subject (Chinese source, with
%(name)s placeholders filled from the values) and the templates email/<template>.txt and .html,
rendered in the notice's language with the values. Values are plain data (strings, numbers, aware
datetimes): they are stored as JSON with the notice (a datetime as {"datetime": ISO 8601}) and
given back to the templates as they were passed.

Verification codes use the same `send_mail` from their own task (services/codes.py), so every
email is rendered and sent by one piece of code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import update

from .. import clock, tasks
from ..email import send_email
from ..extensions import commit_now, db
from ..i18n import gettext, ngettext
from ..i18n import lazy_gettext as _l
from ..models import EmailNotice


@dataclass(frozen=True)
class NoticeKind:
    # A lazy string whose %(name)s placeholders are filled from the values, or a function of the values
    # (a subject with a count, in the language forced while rendering).
    subject: object | Callable[[Mapping[str, object]], str]
    template: str  # email/<template>.txt and email/<template>.html


KINDS: dict[str, NoticeKind] = {
    "verification_code": NoticeKind(_l("观测云验证码：%(purpose)s"), "verification_code"),
    # After activation (services/lifecycle.py).
    # (Literal strings in the calls: that is where `make translations-update` finds them.)
    "countdown_started": NoticeKind(
        lambda v: ngettext(
            "工作空间「%(workspace)s」将于 %(num)s 天后锁定",
            "工作空间「%(workspace)s」将于 %(num)s 天后锁定",
            v["days"],
            workspace=v["workspace"],
        ),
        "countdown_started",
    ),
    "lock_reminder": NoticeKind(
        lambda v: ngettext(
            "提醒：工作空间「%(workspace)s」将于 %(num)s 天后锁定",
            "提醒：工作空间「%(workspace)s」将于 %(num)s 天后锁定",
            v["days"],
            workspace=v["workspace"],
        ),
        "lock_reminder",
    ),
    "locked": NoticeKind(
        lambda v: gettext("工作空间「%(workspace)s」已锁定，数据已删除", workspace=v["workspace"]), "locked"
    ),
    "unlocked": NoticeKind(lambda v: gettext("工作空间「%(workspace)s」已解锁", workspace=v["workspace"]), "unlocked"),
    "released": NoticeKind(
        lambda v: gettext("工作空间「%(workspace)s」已转为费用中心账号结算", workspace=v["workspace"]), "released"
    ),
    # Password logins paused for the rest of the hour (services/login_throttle.py).
    "login_locked": NoticeKind(_l("观测云账号密码登录已暂停"), "login_locked"),
    "dissolved": NoticeKind(
        lambda v: gettext("工作空间「%(workspace)s」已解散", workspace=v["workspace"]), "dissolved"
    ),
}


def kind_of(kind: str) -> NoticeKind:
    if kind not in KINDS:
        raise ValueError(f"unknown email notice {kind!r}")
    return KINDS[kind]


def send_notice(kind: str, to: str, language: str, **values) -> int:
    """Write the notice in the current transaction; it is queued when that commits. Returns its id."""
    kind_of(kind)
    notice = EmailNotice(
        kind=kind, recipient=to, language=language, template_values=_stored(values), delivery="queued",
        created_at=clock.now(), instance_id=str(values.get("instance_id") or "")[:64] or None,
    )  # fmt: skip
    db.session.add(notice)
    db.session.flush()
    tasks.enqueue_on_commit("deliver_notice", notice.id)
    return notice.id


def deliver(notice_id: int) -> None:
    """The worker's part: mail the notice unless it was sent already, then mark it sent.

    A notice marked failed is mailed too: that is an operator retrying its failed task.
    """
    notice = db.session.get(EmailNotice, notice_id)
    if notice is None or notice.delivery == "sent":
        return
    kind, to, language, values = notice.kind, notice.recipient, notice.language, _restored(notice.template_values)
    commit_now("no transaction stays open while the SMTP server talks (nothing was written yet)")
    send_mail(kind, to, language, values)
    _set_delivery(notice_id, "sent", delivered_at=clock.now())


def give_up(notice_id: int) -> None:
    """Its retries ran out: the notice stays, marked failed (the failed task can still be retried)."""
    _set_delivery(notice_id, "failed")


def _set_delivery(notice_id: int, delivery: str, **values) -> None:
    db.session.execute(
        update(EmailNotice)
        .where(EmailNotice.id == notice_id, EmailNotice.delivery != "sent")
        .values(delivery=delivery, **values)
    )


def render(kind: str, language: str, values: Mapping[str, object]) -> tuple[str, str, str]:
    """Subject, text and HTML of an email, in `language`."""
    spec = kind_of(kind)
    with force_locale(language):
        if callable(spec.subject):
            subject = spec.subject(values)
        else:
            subject = str(spec.subject) % {name: str(value) for name, value in values.items()}
        context = {**values, "subject": subject, "language": language}
        text = render_template(f"email/{spec.template}.txt", **context)
        html = render_template(f"email/{spec.template}.html", **context)
    return subject, text, html


def send_mail(kind: str, to: str, language: str, values: Mapping[str, object]) -> None:
    """Render and send one email now; raises what smtplib raises (the task is then retried)."""
    subject, text, html = render(kind, language, values)
    send_email(subject, [to], text, html)


def _stored(values: Mapping[str, object]) -> dict[str, object]:
    """JSON for the notice's row: an aware datetime as {"datetime": its ISO 8601 form}."""
    return {name: {"datetime": value.isoformat()} if isinstance(value, datetime) else value
            for name, value in values.items()}  # fmt: skip


def _restored(stored: Mapping[str, object]) -> dict[str, object]:
    return {
        name: datetime.fromisoformat(value["datetime"]) if isinstance(value, dict) and "datetime" in value else value
        for name, value in stored.items()
    }
