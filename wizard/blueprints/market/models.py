"""The marketplace simulator's own tables: it shares no model with the Guance side."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...db_types import Timestamp, created_at_column, utcnow
from ...extensions import db

ORDER_STATUSES = ("pending", "active", "expired", "released")


class MarketUser(db.Model):
    """An Alibaba Cloud main account as the simulator knows it."""

    __tablename__ = "market_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    ali_uid: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class MarketOrder(db.Model):
    """One purchase; 'pending' (开通中) until the Guance side's SPI answered createInstance."""

    __tablename__ = "market_order"
    __table_args__ = (CheckConstraint(f"status IN {ORDER_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_biz_id: Mapped[str] = mapped_column(String(64), unique=True)
    ali_uid: Mapped[str] = mapped_column(ForeignKey("market_user.ali_uid"), index=True)
    product_code: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[str] = mapped_column(String(64))
    trial: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    instance_id: Mapped[str | None] = mapped_column(String(64))
    auth_url: Mapped[str | None] = mapped_column(String(512))
    front_end_url: Mapped[str | None] = mapped_column(String(512))
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow, onupdate=utcnow)
