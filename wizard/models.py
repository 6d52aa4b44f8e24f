"""The Guance side's data (the marketplace simulator is another application, with its own database)."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import METERING_STATUSES
from .db_types import Timestamp, created_at_column, utcnow
from .extensions import Model
from .statuses import InstanceStatus, SettlementCause, WorkspaceStatus, check_values


class GuanceAccount(UserMixin, Model):
    """A Guance console login; one account can belong to many workspaces."""

    __tablename__ = "guance_account"
    __table_args__ = (
        UniqueConstraint("site", "username"),
        UniqueConstraint("site", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(8))
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    phone: Mapped[str | None] = mapped_column(String(32))
    company_name: Mapped[str | None] = mapped_column(String(128))
    industry: Mapped[str | None] = mapped_column(String(64))
    company_size: Mapped[str | None] = mapped_column(String(32))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()

    memberships: Mapped[list[WorkspaceMember]] = relationship(back_populates="account")


class BillingAccount(Model):
    """A billing-center (费用中心) account; it pays for many workspaces."""

    __tablename__ = "billing_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = created_at_column()

    workspaces: Mapped[list[Workspace]] = relationship(back_populates="billing_account")
    cloud_bindings: Mapped[list[CloudAccountBinding]] = relationship(back_populates="billing_account")


class CloudAccountBinding(Model):
    """An Aliyun account settles through exactly one billing-center account."""

    __tablename__ = "cloud_account_binding"

    id: Mapped[int] = mapped_column(primary_key=True)
    ali_uid: Mapped[str] = mapped_column(String(32), unique=True)
    billing_account_id: Mapped[int] = mapped_column(ForeignKey("billing_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()

    billing_account: Mapped[BillingAccount] = relationship(back_populates="cloud_bindings")


def new_workspace_token() -> str:
    """A workspace's DataWay token, as Guance writes them: tkn_ and 32 hex digits (128 random bits)."""
    return f"tkn_{secrets.token_hex(16)}"


class Workspace(Model):
    """A workspace and where it stands after activation (rules in services/lifecycle.py)."""

    __tablename__ = "workspace"
    __table_args__ = (
        CheckConstraint(f"status IN {check_values(WorkspaceStatus)}", name="status"),
        # The operators' console finds workspaces by the start of their name (LIKE 'name%').
        Index("ix_workspace_name", "name", postgresql_ops={"name": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    style: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(8))
    # What DataKit sends data with (DK_DATAWAY ...?token=): shown only to the workspace's members.
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_workspace_token)
    owner_account_id: Mapped[int] = mapped_column(ForeignKey("guance_account.id"), index=True)
    # None: settled by Guance directly, without a billing-center account.
    billing_account_id: Mapped[int | None] = mapped_column(ForeignKey("billing_account.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    status: Mapped[str] = mapped_column(String(16), default=WorkspaceStatus.ACTIVE, server_default="active")
    # The lock countdown: started when the settling instance expired, ends (locks, wipes) at lock_due_at.
    countdown_started_at: Mapped[datetime | None] = mapped_column(Timestamp())
    lock_due_at: Mapped[datetime | None] = mapped_column(Timestamp(), index=True)
    # The smallest "N days before the lock" reminder already sent in this countdown.
    reminded_days: Mapped[int | None] = mapped_column(Integer)
    locked_at: Mapped[datetime | None] = mapped_column(Timestamp())
    unlocked_at: Mapped[datetime | None] = mapped_column(Timestamp())
    dissolved_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # When and why it left Aliyun settlement for 费用中心 settlement (SettlementCause).
    settlement_changed_at: Mapped[datetime | None] = mapped_column(Timestamp())
    settlement_cause: Mapped[str | None] = mapped_column(String(32))

    owner: Mapped[GuanceAccount] = relationship()
    billing_account: Mapped[BillingAccount | None] = relationship(back_populates="workspaces")
    members: Mapped[list[WorkspaceMember]] = relationship(back_populates="workspace", cascade="all, delete-orphan")
    instances: Mapped[list[MarketplaceInstance]] = relationship(
        back_populates="workspace", foreign_keys="MarketplaceInstance.workspace_id"
    )

    @property
    def state(self) -> WorkspaceStatus:
        return WorkspaceStatus(self.status)

    @property
    def cause(self) -> SettlementCause | None:
        return SettlementCause(self.settlement_cause) if self.settlement_cause else None


class WorkspaceMember(Model):
    __tablename__ = "workspace_member"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    # Indexed on its own: the key starts with workspace_id, and the console looks up by account.
    account_id: Mapped[int] = mapped_column(
        ForeignKey("guance_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="owner")
    created_at: Mapped[datetime] = created_at_column()

    workspace: Mapped[Workspace] = relationship(back_populates="members")
    account: Mapped[GuanceAccount] = relationship(back_populates="memberships")


_LIVE = "status != 'released'"


class MarketplaceInstance(Model):
    """One purchase on the marketplace; instance_id is the SPI's orderBizId."""

    __tablename__ = "marketplace_instance"
    __table_args__ = (
        CheckConstraint(f"status IN {check_values(InstanceStatus)}", name="status"),
        # A workspace settles through at most one live instance: the database decides races.
        Index(
            "uq_marketplace_instance_live_workspace",
            "workspace_id",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
        # The operators' console lists instances newest first (keyset on created_at, id), by status.
        Index("ix_marketplace_instance_created", "created_at", "id"),
        Index("ix_marketplace_instance_status", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), unique=True)
    ali_uid: Mapped[str] = mapped_column(String(32), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[str] = mapped_column(String(64))
    trial: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp())
    status: Mapped[str] = mapped_column(String(16), default=InstanceStatus.ACTIVE)
    # Indexed for Workspace.instances (B2, the console): the partial unique index above serves only live rows.
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id"), index=True)
    bound_at: Mapped[datetime | None] = mapped_column(Timestamp())
    released_at: Mapped[datetime | None] = mapped_column(Timestamp())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow, onupdate=utcnow)
    # When the current expiry took effect, and when a renewal last applied (expiry rules: services/spi.py).
    expired_at: Mapped[datetime | None] = mapped_column(Timestamp())
    renewed_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # The language the customer last used on this instance's pages: its lifecycle emails are in it.
    language: Mapped[str | None] = mapped_column(String(8))
    # The workspace this instance settled until it let go of it (解散, or a switch to 费用中心 settlement).
    released_workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id"))
    workspace_released_at: Mapped[datetime | None] = mapped_column(Timestamp())

    workspace: Mapped[Workspace | None] = relationship(back_populates="instances", foreign_keys=[workspace_id])
    released_workspace: Mapped[Workspace | None] = relationship(foreign_keys=[released_workspace_id])

    @property
    def state(self) -> InstanceStatus:
        return InstanceStatus(self.status)

    @property
    def activated(self) -> bool:
        """开通 is done: the instance settles a workspace (B3, S1; the wizard's last stage)."""
        return self.workspace_id is not None


class SsoNonce(Model):
    """A login-free token already used: single use, pruned once past the time window."""

    __tablename__ = "sso_nonce"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class SpiAppliedOrder(Model):
    """A lifecycle call's orderId, once applied: the same order again is a replay (services/spi.py)."""

    __tablename__ = "spi_applied_order"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = created_at_column()


class UsedLink(Model):
    """A single-use signed link already opened (立即解锁), kept until it would have expired anyway."""

    __tablename__ = "used_link"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class SpiCall(Model):
    """Audit trail of every SPI call: action, parameters without the token, outcome."""

    __tablename__ = "spi_call"
    # The operators' console filters by action, outcome or instance and a time range, newest first
    # (keyset pagination on created_at, id: services/ops/paging.py).
    __table_args__ = (
        Index("ix_spi_call_action", "action", "created_at", "id"),
        Index("ix_spi_call_outcome", "outcome", "created_at", "id"),
        # Both filters at once: a rare outcome of one action is read exactly, not by walking either index.
        Index("ix_spi_call_action_outcome", "action", "outcome", "created_at", "id"),
        Index("ix_spi_call_instance", "instance_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow, index=True)
    # The instance the call names (instanceId, or createInstance's orderBizId): an instance's timeline.
    instance_id: Mapped[str | None] = mapped_column(String(64))


# Waiting for the worker: neither delivered, nor given up, nor replaced.
_IN_FLIGHT = "delivery = 'queued' AND voided_at IS NULL"
DELIVERY_STATES = ("queued", "sent", "failed")


class VerificationCode(Model):
    """An emailed six-digit code (rules in services/codes.py).

    `recipient_key` is the code's key: the lower-cased email, or billing:<username> (B1, X3). The code
    itself is never stored: it derives from `seed` and SECRET_KEY, so the worker can mail it and
    verification can check it. `delivery` is queued (written, waiting for the worker), sent (the
    SMTP server took it, or there was nobody to send it to: the two look alike on purpose) or
    failed (retries ran out, or it expired while waiting); a code counts once `delivered_at` is set.
    """

    __tablename__ = "verification_code"
    __table_args__ = (
        Index("ix_verification_code_recipient_key_purpose", "recipient_key", "purpose", "sent_at"),
        # One send in flight per key: the database settles two simultaneous 获取验证码.
        Index(
            "uq_verification_code_in_flight",
            "recipient_key",
            unique=True,
            sqlite_where=text(_IN_FLIGHT),
            postgresql_where=text(_IN_FLIGHT),
        ),
        CheckConstraint(f"delivery IN {DELIVERY_STATES!r}", name="delivery"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_key: Mapped[str] = mapped_column(String(254))
    purpose: Mapped[str] = mapped_column(String(32))
    seed: Mapped[str] = mapped_column(String(64))
    # The language of the page that asked: the worker writes the email in it.
    language: Mapped[str] = mapped_column(String(8))
    delivery: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(Timestamp())
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp())
    consumed_at: Mapped[datetime | None] = mapped_column(Timestamp())
    voided_at: Mapped[datetime | None] = mapped_column(Timestamp())


class EmailNotice(Model):
    """Any other email (services/notices.py): written in the caller's transaction, mailed by the worker.

    The row is what makes delivery idempotent: the worker mails a notice only while it is queued.
    """

    __tablename__ = "email_notice"
    __table_args__ = (
        CheckConstraint(f"delivery IN {DELIVERY_STATES!r}", name="delivery"),
        Index("ix_email_notice_instance", "instance_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))
    template_values: Mapped[dict] = mapped_column(JSON)
    delivery: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime] = created_at_column()
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # The 商品实例 ID the notice is about (its values' instance_id), for the instance's timeline.
    instance_id: Mapped[str | None] = mapped_column(String(64))


FAILED_TASK_STATES = ("retrying", "failed")


class FailedTask(Model):
    """A queued task that raised (wizard/tasks.py): retrying while it has retries left, then failed.

    Never dropped silently: a failed task stays until an operator retries it (`flask queue retry`);
    a retry that succeeds removes the row. `task_id` is the queue's id of the task (None when the
    queue itself could not take it).
    """

    __tablename__ = "failed_task"
    __table_args__ = (
        CheckConstraint(f"status IN {FAILED_TASK_STATES!r}", name="status"),
        # The operators' list of failed tasks, newest first, one page at a time (keyset on time, id).
        Index("ix_failed_task_status", "status", "last_failed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    args: Mapped[list] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = created_at_column()
    last_failed_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


class RegistrationDraft(Model):
    """R1's answers until R2 creates the Guance account: server-side, so the password hash never
    reaches the browser. The session holds only the random id; a draft expires, is deleted when R2
    completes and pruned when a later one is saved (rules in services/registration.py)."""

    __tablename__ = "registration_draft"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ali_uid: Mapped[str] = mapped_column(String(32), index=True)
    site: Mapped[str] = mapped_column(String(8))
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class MarketplaceRegistration(Model):
    """The Guance account registered (R2) for an Aliyun account, until R3 completes it.

    How 免登 resumes at R3 after the customer left, and why a finished registration is never
    asked again: one per Aliyun account, whatever the session says.
    """

    __tablename__ = "marketplace_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    ali_uid: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("guance_account.id", ondelete="CASCADE"), unique=True)
    # The workspace R3 created; set together with completed_at.
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp())

    account: Mapped[GuanceAccount] = relationship()
    workspace: Mapped[Workspace | None] = relationship()

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class UsageRecord(Model):
    """A workspace's usage of one entity (data points ingested, API calls, ...) in one clock hour.

    Written once: a later report for the same hour and entity is ignored (services/usage.py).
    """

    __tablename__ = "usage_record"
    __table_args__ = (UniqueConstraint("workspace_id", "hour_start", "entity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    hour_start: Mapped[datetime] = mapped_column(Timestamp())
    entity: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = created_at_column()


_DUE = "status = 'pending'"


class MeteringHour(Model):
    """One closed hour of an Aliyun-settled workspace, billed to the instance that settled it, and how
    pushing it went (rules in services/metering.py).

    `entities` is what is (or was) pushed, by marketplace key, fixed when the hour closed, so a retry
    always sends the same record. `sent_at` is set before a request carrying the hour goes out and
    cleared when its answer is known: set, the marketplace may have billed it.
    """

    __tablename__ = "metering_hour"
    __table_args__ = (
        UniqueConstraint("instance_id", "hour_start"),
        CheckConstraint(f"status IN {METERING_STATUSES!r}", name="status"),
        Index(
            "ix_metering_hour_due",
            "instance_id",
            "next_attempt_at",
            sqlite_where=text(_DUE),
            postgresql_where=text(_DUE),
        ),  # fmt: skip
        # 推送失败 for operators, newest first: (time, id) is the keyset order, so a page reads only its rows.
        Index("ix_metering_hour_status", "status", "hour_start", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("marketplace_instance.id"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    hour_start: Mapped[datetime] = mapped_column(Timestamp())
    entities: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # After a refused batch, the hour goes alone, so one refused hour cannot fail the others.
    solo: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp())
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp())
    last_error: Mapped[str | None] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(64))
    pushed_at: Mapped[datetime | None] = mapped_column(Timestamp())
    created_at: Mapped[datetime] = created_at_column()

    instance: Mapped[MarketplaceInstance] = relationship()


class MeteringLease(Model):
    """An instance's turn to push: one request per instance per interval, and one pusher at a time."""

    __tablename__ = "metering_lease"

    instance_id: Mapped[int] = mapped_column(ForeignKey("marketplace_instance.id"), primary_key=True)
    next_request_at: Mapped[datetime] = mapped_column(Timestamp())


class WebSession(Model):
    """A server-side session (wizard/sessions.py): the cookie holds only the random id, so deleting
    the row ends every copy of the cookie. `expires_at` is the earlier of the absolute and the idle
    deadline; a row past it is never read and is pruned by `flask session_cleanup`."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class RateLimitCounter(Model):
    """A fixed-window counter of the per-IP limits (wizard/rate_limits.py): one row per limit and
    client, reset by the same atomic upsert that finds its window over."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class LoginAttempt(Model):
    """A password login for one (site, username), kept an hour (services/login_throttle.py).

    Written before the password is checked and deleted again when it was right, so a row is a
    failure (or one in progress). `account_key` is an HMAC of site and username: the table never
    holds what strangers typed, and an unknown username is counted like a real one.
    """

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_account_key_at", "account_key", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


from . import ops_models  # noqa: F401  (registers the operators' tables: wizard/ops_models.py)
