"""The operators' side of the data: operators and their audit trail, the activation funnel, webhooks.

Imported by models.py, so every table is known wherever the models are (migrations, create_app).
Rules live in services/ops/; these are only the tables and the indexes that make the console's pages
fast on large tables (keyset pagination walks an index in id order: see services/ops/pages.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db_types import Timestamp, created_at_column
from .extensions import Model


class Operator(Model):
    """Someone who runs the service for Guance (`flask ops create-operator`): a password and a TOTP.

    The TOTP secret is stored encrypted (services/ops/secrets.py): it must be read back to check a
    code, so it cannot be hashed like the password. `totp_confirmed_at` is set when the operator has
    shown a first code from their authenticator (enrolment); `totp_last_step` is the 30-second step
    of the last code accepted, so a code is never accepted twice.
    """

    __tablename__ = "operator"
    __table_args__ = (CheckConstraint("role IN ('operator')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="operator", server_default="operator")
    totp_secret: Mapped[str] = mapped_column(Text)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp())
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()
    last_login_at: Mapped[datetime | None] = mapped_column(Timestamp())
    disabled_at: Mapped[datetime | None] = mapped_column(Timestamp())


class OperatorAudit(Model):
    """Who (operator, or the username typed when nobody signed in), what (action), when, on what
    (target_type + target_id), from where, with what (details: never a password or code)."""

    __tablename__ = "operator_audit"
    __table_args__ = (
        Index("ix_operator_audit_operator_id", "operator_id", "created_at", "id"),
        Index("ix_operator_audit_action", "action", "created_at", "id"),
        Index("ix_operator_audit_target", "target_type", "target_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)

    operator: Mapped[Operator | None] = relationship()


class FunnelEvent(Model):
    """An instance reached a step of the activation for the first time (services/ops/funnel.py).

    `entered_at` is when the instance's activation began (its first event): the funnel of a period is
    the instances that began in it, so every step's count, drop-off and time are of the same customers.
    `previous_step` and `seconds_on_previous` say which step it left and how long it spent there.
    """

    __tablename__ = "funnel_event"
    __table_args__ = (
        UniqueConstraint("instance_id", "step"),
        # Covers the funnel's aggregates (an index-only scan of the period on PostgreSQL).
        Index("ix_funnel_event_entered_at", "entered_at", "step", "previous_step", "seconds_on_previous"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64))
    ali_uid: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    reached_at: Mapped[datetime] = mapped_column(Timestamp())
    entered_at: Mapped[datetime] = mapped_column(Timestamp())
    previous_step: Mapped[str | None] = mapped_column(String(32))
    seconds_on_previous: Mapped[int | None] = mapped_column(Integer)


class FunnelDay(Model):
    """The funnel's daily roll-up: how many instances whose activation began on `day` (a date in the
    console's time zone, BABEL_DEFAULT_TIMEZONE) reached `step`. Counted with each funnel_event row, in
    its transaction (services/ops/funnel.py), so a period's funnel sums a row per day and step instead
    of reading every event; `flask ops rebuild-funnel` recomputes it from funnel_event."""

    __tablename__ = "funnel_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    reached: Mapped[int] = mapped_column(Integer)


class FunnelDayDuration(Model):
    """The roll-up's time on each step, as a histogram exact to the second: of the instances whose
    activation began on `day`, `departures` left `step` for another after `seconds` on it. A period's
    median is read from the summed histogram, the same value as the median of the raw events."""

    __tablename__ = "funnel_day_duration"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    departures: Mapped[int] = mapped_column(Integer)


_WAITING = "activated_at IS NULL"


class ActivationProgress(Model):
    """Where one instance's activation stands: its latest step and since when (stuck activations)."""

    __tablename__ = "activation_progress"
    __table_args__ = (
        Index(
            "ix_activation_progress_waiting",
            "reached_at",
            "instance_id",
            sqlite_where=text(_WAITING),
            postgresql_where=text(_WAITING),
        ),
    )

    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ali_uid: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    reached_at: Mapped[datetime] = mapped_column(Timestamp())
    entered_at: Mapped[datetime] = mapped_column(Timestamp())
    activated_at: Mapped[datetime | None] = mapped_column(Timestamp())


class WebhookEndpoint(Model):
    """A URL the ISV wants told about `events`; `secret` signs every delivery (encrypted at rest,
    shown once at creation: services/ops/webhooks.py)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(Text)
    secret_hint: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    disabled_at: Mapped[datetime | None] = mapped_column(Timestamp())


WEBHOOK_DELIVERY_STATES = ("pending", "delivered", "failed")
_DUE_DELIVERY = "status = 'pending'"


class WebhookDelivery(Model):
    """One event for one endpoint: the exact body signed and sent, and how its attempts went."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        CheckConstraint(f"status IN {WEBHOOK_DELIVERY_STATES!r}", name="status"),
        # One event (its id is in the body) goes to each endpoint once.
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "created_at", "id"),
        Index("ix_webhook_delivery_instance", "instance_id", "created_at", "id"),
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            sqlite_where=text(_DUE_DELIVERY),
            postgresql_where=text(_DUE_DELIVERY),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp())
    created_at: Mapped[datetime] = created_at_column()
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp())
    last_error: Mapped[str | None] = mapped_column(String(255))

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id", cascade="all, delete-orphan"
    )


class WebhookAttempt(Model):
    """One POST of a delivery: when, the answer's status (None: no answer), why it failed, how long."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(Timestamp())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    duration_ms: Mapped[int] = mapped_column(Integer)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")
