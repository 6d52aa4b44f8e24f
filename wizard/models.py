"""The Guance side's data. The marketplace simulator keeps its own tables in blueprints/market."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import INSTANCE_STATUSES
from .db_types import Timestamp, created_at_column, utcnow
from .extensions import db


class GuanceAccount(UserMixin, db.Model):
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


class BillingAccount(db.Model):
    """A billing-center (费用中心) account; it pays for many workspaces."""

    __tablename__ = "billing_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = created_at_column()

    workspaces: Mapped[list[Workspace]] = relationship(back_populates="billing_account")
    cloud_bindings: Mapped[list[CloudAccountBinding]] = relationship(back_populates="billing_account")


class CloudAccountBinding(db.Model):
    """An Aliyun account settles through exactly one billing-center account."""

    __tablename__ = "cloud_account_binding"

    id: Mapped[int] = mapped_column(primary_key=True)
    ali_uid: Mapped[str] = mapped_column(String(32), unique=True)
    billing_account_id: Mapped[int] = mapped_column(ForeignKey("billing_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()

    billing_account: Mapped[BillingAccount] = relationship(back_populates="cloud_bindings")


class Workspace(db.Model):
    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    style: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(8))
    owner_account_id: Mapped[int] = mapped_column(ForeignKey("guance_account.id"), index=True)
    # None: settled by Guance directly, without a billing-center account.
    billing_account_id: Mapped[int | None] = mapped_column(ForeignKey("billing_account.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()

    owner: Mapped[GuanceAccount] = relationship()
    billing_account: Mapped[BillingAccount | None] = relationship(back_populates="workspaces")
    members: Mapped[list[WorkspaceMember]] = relationship(back_populates="workspace", cascade="all, delete-orphan")
    instances: Mapped[list[MarketplaceInstance]] = relationship(back_populates="workspace")


class WorkspaceMember(db.Model):
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


class MarketplaceInstance(db.Model):
    """One purchase on the marketplace; instance_id is the SPI's orderBizId."""

    __tablename__ = "marketplace_instance"
    __table_args__ = (
        CheckConstraint(f"status IN {INSTANCE_STATUSES!r}", name="status"),
        # A workspace settles through at most one live instance: the database decides races.
        Index(
            "uq_marketplace_instance_live_workspace",
            "workspace_id",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), unique=True)
    ali_uid: Mapped[str] = mapped_column(String(32), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[str] = mapped_column(String(64))
    trial: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp())
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Indexed for Workspace.instances (B2, the console): the partial unique index above serves only live rows.
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id"), index=True)
    bound_at: Mapped[datetime | None] = mapped_column(Timestamp())
    released_at: Mapped[datetime | None] = mapped_column(Timestamp())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow, onupdate=utcnow)

    workspace: Mapped[Workspace | None] = relationship(back_populates="instances")


class SsoNonce(db.Model):
    """A login-free token already used: single use, pruned once past the time window."""

    __tablename__ = "sso_nonce"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class SpiCall(db.Model):
    """Audit trail of every SPI call: action, parameters without the token, outcome."""

    __tablename__ = "spi_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow, index=True)


_IN_FLIGHT = "delivered_at IS NULL AND voided_at IS NULL"


class VerificationCode(db.Model):
    """An emailed six-digit code, kept only as a keyed hash (rules in services/codes.py).

    `email` holds the code's key: the lower-cased email, or billing:<username> for B1. A row is
    written before its mail goes out and counts once `delivered_at` is set.
    """

    __tablename__ = "verification_code"
    __table_args__ = (
        Index("ix_verification_code_email_purpose", "email", "purpose", "sent_at"),
        # One send in flight per key: the database settles two simultaneous 获取验证码.
        Index(
            "uq_verification_code_in_flight",
            "email",
            unique=True,
            sqlite_where=text(_IN_FLIGHT),
            postgresql_where=text(_IN_FLIGHT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(Timestamp())
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp())
    consumed_at: Mapped[datetime | None] = mapped_column(Timestamp())
    voided_at: Mapped[datetime | None] = mapped_column(Timestamp())


class RegistrationDraft(db.Model):
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


class MarketplaceRegistration(db.Model):
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


class WebSession(db.Model):
    """A server-side session (wizard/sessions.py): the cookie holds only the random id, so deleting
    the row ends every copy of the cookie. `expires_at` is the earlier of the absolute and the idle
    deadline; a row past it is never read and is pruned by `flask session_cleanup`."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class RateLimitCounter(db.Model):
    """A fixed-window counter of the per-IP limits (wizard/rate_limits.py): one row per limit and
    client, reset by the same atomic upsert that finds its window over."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)


class LoginAttempt(db.Model):
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
