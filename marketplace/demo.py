"""The simulator's demo buyers: Aliyun main accounts, one per branch of the flow.

Buyer D has an instance already opened and bound on the Guance side, metered by the hour: its
费用账单 shows usage from three days before today up to the hour before last, as if the Guance side
had pushed it on time. The Guance side's seed binds the same instance and records the same hours as
sent with their answers unknown; its pusher then finds them billed (DescribePushMeteringData). The two seeds share no
code, only the IDs and the demo usage profile below, as two parties would agree on them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from . import clock
from .billing import amount_in_fen
from .extensions import db
from .models import Buyer, MarketOrder, MeteringRecord, OrderStatus
from .orders import PRODUCT_CODE, SKU_PAY_AS_YOU_GO, order_numbers

METERED_BUYER = "1380000000000004"
DEMO_BUYERS = [
    ("1380000000000001", "演示买家 A（新客户：注册路径）"),
    ("1380000000000002", "演示买家 B（已有费用中心账号：绑定路径）"),
    ("1380000000000003", "演示买家 C（已绑定费用中心账号 demo_billing）"),
    (METERED_BUYER, "演示买家 D（已开通，按量计费：费用账单）"),
]
DEMO_HISTORY_DAYS = 3
HOUR = 3600


def seed_buyers() -> list[tuple[str, str]]:
    """Create the demo buyers that are missing; running it twice changes nothing."""
    for ali_uid, name in DEMO_BUYERS:
        buyer = db.session.scalar(select(Buyer).filter_by(ali_uid=ali_uid))
        if buyer is None:
            db.session.add(Buyer(ali_uid=ali_uid, display_name=name))
        elif not buyer.display_name:
            buyer.display_name = name
    return DEMO_BUYERS


def demo_usage(hour_start: int) -> dict[str, int]:
    """The agreed demo usage profile of an hour (Unix seconds), by metering key."""
    index = hour_start // HOUR
    return {"DataPoints": 1_500_000 + index * 618_033 % 1_000_000, "ApiCalls": 200 + index * 104_729 % 800}


def history_hours(now: datetime, timezone: str) -> list[int]:
    """From midnight DEMO_HISTORY_DAYS before today (the marketplace's time zone) to the hour before last.

    The start is a midnight, so both seeds agree on it even a few seconds apart."""
    local = now.astimezone(ZoneInfo(timezone))
    first = int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()) - DEMO_HISTORY_DAYS * 24 * HOUR
    current_hour = int(now.timestamp()) // HOUR * HOUR
    return list(range(first, current_hour - HOUR, HOUR))


def seed_metered_order() -> None:
    """Buyer D's opened instance and its billed history, made once: later runs leave both alone, so the
    history never grows behind the Guance side's back."""
    order_id, instance_id = order_numbers(METERED_BUYER, 1)
    if db.session.scalar(select(MarketOrder.id).filter_by(order_id=order_id)) is not None:
        return
    hours = history_hours(clock.now(), current_app.config["MARKET_TIMEZONE"])
    order = _opened_order(order_id, instance_id, datetime.fromtimestamp(hours[0], UTC) - timedelta(days=1))
    _bill_history(order, hours)


def _opened_order(order_id: str, instance_id: str, opened_at: datetime) -> MarketOrder:
    isv = current_app.config["ISV_ORIGIN"]
    order = MarketOrder(
        order_id=order_id, order_biz_id=instance_id, ali_uid=METERED_BUYER, product_code=PRODUCT_CODE,
        sku_id=SKU_PAY_AS_YOU_GO, trial=False, status=OrderStatus.ACTIVE, instance_id=instance_id,
        auth_url=f"{isv}/spi", front_end_url=f"{isv}/login/pwd", expires_at=None,
        provision_attempts=1, created_at=opened_at,
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    return order


def _bill_history(order: MarketOrder, hours: list[int]) -> None:
    prices = current_app.config["PRICE_LIST"]
    for start in hours:
        for key, quantity in demo_usage(start).items():
            if key in prices:
                db.session.add(MeteringRecord(
                    order_id=order.id, instance_id=order.instance_id, hour_start=datetime.fromtimestamp(start, UTC),
                    start_time=start, end_time=start + HOUR, entity_key=key, quantity=quantity,
                    unit_price=str(prices[key]), amount_fen=amount_in_fen(quantity, prices[key]),
                    request_id="DEMO-SEED", received_at=datetime.fromtimestamp(start + HOUR + 300, UTC),
                ))  # fmt: skip
