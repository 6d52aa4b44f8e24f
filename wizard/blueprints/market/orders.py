"""Orders of the simulator and the SPI calls that follow them, as Alibaba Cloud would make them."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from flask import current_app, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ... import clock, spi_token
from ...extensions import db
from .models import MarketOrder
from .spi_client import SpiCallFailed, SpiClient

PRODUCT_CODE = "cmgj00053362"
SKU_PAY_AS_YOU_GO = "yuncode5336200001"
SKU_UPGRADED = "yuncode5336200002"
SPI_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TERM = timedelta(days=365)
RETRIES_PER_PAGE_VIEW = 3


def spi_client() -> SpiClient:
    config = current_app.config
    url = config["SPI_URL"] or request.url_root.rstrip("/") + "/spi"
    return SpiClient(url, config["ISV_KEY"], config["SPI_TIMEOUT"], config["SPI_TRANSPORT"])


def spi_time(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in the marketplace's time zone."""
    return moment.astimezone(ZoneInfo(current_app.config["SSO_TIMEZONE"])).strftime(SPI_TIME_FORMAT)


def _in_one_term(start: datetime) -> datetime:
    # The protocol's timestamps have whole seconds; keep ours the same so both sides agree.
    return (start + TERM).replace(microsecond=0)


def _new_number() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def _order_numbers(ali_uid: str, sequence: int) -> tuple[str, str]:
    """orderId and orderBizId of the buyer's n-th order: unique, and the same in every demo run."""
    suffix = f"{int(ali_uid) % 10**10:010d}{sequence:04d}"
    return f"2{suffix}", f"5{suffix}"


def _new_order(ali_uid: str, sequence: int) -> MarketOrder:
    order_id, order_biz_id = _order_numbers(ali_uid, sequence)
    return MarketOrder(
        order_id=order_id,
        order_biz_id=order_biz_id,
        ali_uid=ali_uid,
        product_code=PRODUCT_CODE,
        sku_id=SKU_PAY_AS_YOU_GO,
        trial=False,
        status="pending",
        expires_at=_in_one_term(clock.now()),
    )


def place_order(ali_uid: str) -> MarketOrder:
    """开通: record the order first (committed), then ask the ISV to create the instance."""
    placed = db.session.scalar(select(func.count()).select_from(MarketOrder).filter_by(ali_uid=ali_uid))
    for attempt in range(3):  # two purchases at the same moment pick the same number: take the next
        order = _new_order(ali_uid, placed + 1 + attempt)
        db.session.add(order)
        try:
            db.session.commit()  # before the SPI call: the ISV may write to the same database
            break
        except IntegrityError:
            db.session.rollback()
    else:
        raise RuntimeError(f"no free order number for {ali_uid}")
    provision(order)
    return order


def provision(order: MarketOrder) -> bool:
    """createInstance for a pending order; it stays 开通中 until the ISV answers with an instanceId."""
    params = {
        "aliUid": order.ali_uid,
        "orderBizId": order.order_biz_id,
        "orderId": order.order_id,
        "productCode": order.product_code,
        "skuId": order.sku_id,
        "trial": str(order.trial).lower(),
        "expiredOn": spi_time(order.expires_at),
    }
    try:
        answer = _call("createInstance", **params)
        app_info = answer["appInfo"]
        order.instance_id, order.auth_url = str(answer["instanceId"]), app_info["authUrl"]
        order.front_end_url = app_info.get("frontEndUrl")
        order.status, order.last_error = "active", None
    except (SpiCallFailed, KeyError, TypeError) as error:
        order.last_error = str(error) or "createInstance answered without instanceId/appInfo"
    db.session.commit()
    return order.status == "active"


def _call(action: str, **params: str) -> dict:
    client = spi_client()
    try:
        return client.call(action, **params)
    finally:
        client.close()


def retry_pending(ali_uid: str) -> None:
    """Opening 已购买的服务 retries a few orders still 开通中."""
    pending = db.session.scalars(
        select(MarketOrder)
        .filter_by(ali_uid=ali_uid, status="pending")
        .order_by(MarketOrder.id)
        .limit(RETRIES_PER_PAGE_VIEW)
    )
    for order in list(pending):
        provision(order)


def orders_of(ali_uid: str) -> list[MarketOrder]:
    return list(
        db.session.scalars(
            select(MarketOrder)
            .filter_by(ali_uid=ali_uid)
            .order_by(MarketOrder.created_at.desc(), MarketOrder.id.desc())
        )
    )


def order_of(ali_uid: str, order_id: str) -> MarketOrder | None:
    return db.session.scalar(select(MarketOrder).filter_by(ali_uid=ali_uid, order_id=order_id))


def login_free_url(order: MarketOrder) -> str:
    """免登: the ISV's authUrl with action=verify, instanceId, timeStamp and the token."""
    params = {"action": "verify", "instanceId": order.instance_id, "timeStamp": spi_time(clock.now())}
    signed = spi_token.signed(params, current_app.config["ISV_KEY"])
    parts = urlsplit(order.auth_url)
    query = "&".join(filter(None, [parts.query, urlencode(signed)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def renew(order: MarketOrder) -> None:
    expires_at = _in_one_term(max(order.expires_at or clock.now(), clock.now()))
    _call("renewInstance", instanceId=order.instance_id, orderId=_new_number(), expiredOn=spi_time(expires_at))
    order.expires_at, order.status = expires_at, "active"
    db.session.commit()


def upgrade(order: MarketOrder) -> None:
    sku = SKU_UPGRADED if order.sku_id == SKU_PAY_AS_YOU_GO else SKU_PAY_AS_YOU_GO
    _call("upgradeInstance", instanceId=order.instance_id, skuId=sku, orderId=_new_number())
    order.sku_id = sku
    db.session.commit()


def expire(order: MarketOrder) -> None:
    _call("expiredInstance", instanceId=order.instance_id)
    order.status = "expired"
    db.session.commit()


def release(order: MarketOrder) -> None:
    _call("releaseInstance", instanceId=order.instance_id, isRefund="false")
    order.status = "released"
    db.session.commit()


LIFECYCLE = {"renew": renew, "upgrade": upgrade, "expire": expire, "release": release}
