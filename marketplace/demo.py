"""The simulator's demo buyers: Aliyun main accounts, one per branch of the flow."""

from __future__ import annotations

from sqlalchemy import select

from .extensions import db
from .models import Buyer

DEMO_BUYERS = [
    ("1380000000000001", "演示买家 A（新客户：注册路径）"),
    ("1380000000000002", "演示买家 B（已有费用中心账号：绑定路径）"),
    ("1380000000000003", "演示买家 C（已绑定费用中心账号 demo_billing）"),
]


def seed_buyers() -> list[tuple[str, str]]:
    """Create the demo buyers that are missing; running it twice changes nothing."""
    for ali_uid, name in DEMO_BUYERS:
        buyer = db.session.scalar(select(Buyer).filter_by(ali_uid=ali_uid))
        if buyer is None:
            db.session.add(Buyer(ali_uid=ali_uid, display_name=name))
        elif not buyer.display_name:
            buyer.display_name = name
    db.session.commit()
    return DEMO_BUYERS
