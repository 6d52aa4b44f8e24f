"""Orders of the simulator and the SPI calls that follow them, as Alibaba Cloud would make them.

The simulator trusts no answer it has not checked: an instanceId must have the protocol's shape
and belong to no other order; authUrl and frontEndUrl must be on the ISV's registered origin.
Anything else leaves the order 开通失败 with the reason, and never a 免登 link.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from protocol import spi

from . import clock, tasks
from .extensions import commit_now, db, savepoint
from .models import MarketOrder, OrderStatus
from .spi_client import SpiCallFailed, SpiClient

PRODUCT_CODE = "cmgj00053362"
SKU_PAY_AS_YOU_GO = "yuncode5336200001"
SKU_UPGRADED = "yuncode5336200002"
TERM = timedelta(days=365)
# A buyer's n-th order is numbered with six digits: orderId 2<aliUid><n>, orderBizId 5<aliUid><n>.
SEQUENCE_DIGITS = 6
# createInstance attempts before an order the ISV never answered becomes 开通失败; the n-th retry
# waits FIRST_RETRY x 2^(n-1), at most LONGEST_WAIT: 30 s, 1, 2, 4 ... 60 min, about 3.6 hours in all.
PROVISION_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
RETRIES_PER_RUN = 50
INSTANCE_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
URL_LIMIT = 512


class AnswerRefused(Exception):
    """createInstance answered something the marketplace cannot accept; the message is the reason shown."""


class OrderLimitReached(Exception):
    """The buyer's order numbers are used up (10^6 orders)."""


def spi_client() -> SpiClient:
    config = current_app.config
    return SpiClient(config["SPI_URL"], config["ISV_KEY"], config["SPI_TIMEOUT"], config["SPI_TRANSPORT"])


def spi_time(moment: datetime) -> str:
    return spi.format_time(moment, current_app.config["MARKET_TIMEZONE"])


def _in_one_term(start: datetime) -> datetime:
    # The protocol's timestamps have whole seconds; keep ours the same so both sides agree.
    return (start + TERM).replace(microsecond=0)


def _new_number() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def order_numbers(ali_uid: str, sequence: int) -> tuple[str, str]:
    """orderId and orderBizId of the buyer's n-th order: the whole aliUid and a fixed-width sequence,
    so two accounts never share a number, and every demo run numbers the same way."""
    if not 0 < sequence < 10**SEQUENCE_DIGITS:
        raise OrderLimitReached(ali_uid)
    suffix = f"{ali_uid}{sequence:0{SEQUENCE_DIGITS}d}"
    return f"2{suffix}", f"5{suffix}"


def _new_order(ali_uid: str, sequence: int) -> MarketOrder:
    order_id, order_biz_id = order_numbers(ali_uid, sequence)
    return MarketOrder(
        order_id=order_id,
        order_biz_id=order_biz_id,
        ali_uid=ali_uid,
        product_code=PRODUCT_CODE,
        sku_id=SKU_PAY_AS_YOU_GO,
        trial=False,
        status=OrderStatus.PENDING,
        expires_at=None,
    )  # fmt: skip  (pay-as-you-go has no term: createInstance carries no expiredOn; a renewal opens one)


def place_order(ali_uid: str) -> MarketOrder:
    """开通: record the order first (committed), then ask the ISV to create the instance."""
    placed = db.session.execute(select(func.count()).select_from(MarketOrder).filter_by(ali_uid=ali_uid)).scalar_one()
    for attempt in range(3):  # two purchases at the same moment pick the same number: take the next
        order = _new_order(ali_uid, placed + 1 + attempt)
        try:
            with savepoint():
                db.session.add(order)
            break
        except IntegrityError:
            continue
    else:
        raise OrderLimitReached(ali_uid)
    commit_now("the order is 开通中 before the ISV is asked: an answer lost on the way is retried, not lost")
    provision(order)
    return order


def provision(order: MarketOrder) -> bool:
    """createInstance for a pending order; True once the ISV's answer is accepted."""
    params = {
        "aliUid": order.ali_uid, "orderBizId": order.order_biz_id, "orderId": order.order_id,
        "productCode": order.product_code, "skuId": order.sku_id, "trial": str(order.trial).lower(),
    }  # fmt: skip
    if order.expires_at is not None:
        params["expiredOn"] = spi_time(order.expires_at)
    try:
        answer, failure = _call("createInstance", **params), None
    except SpiCallFailed as failed:
        answer, failure = {}, failed
    try:
        with savepoint():  # the instanceId may be another order's: then this attempt's update is undone
            _record_attempt(order, answer, failure)
    except IntegrityError:
        order.status, order.last_error = OrderStatus.FAILED, "createInstance answered another order's instanceId"
    return order.status == OrderStatus.ACTIVE


def _record_attempt(order: MarketOrder, answer: dict, failure: SpiCallFailed | None) -> None:
    order.provision_attempts += 1
    if failure is not None:
        _failed_attempt(order, failure.reason, failure.transient)
        return
    try:
        _accept(order, answer)
    except AnswerRefused as refusal:
        _failed_attempt(order, str(refusal), transient=False)


def _failed_attempt(order: MarketOrder, reason: str, transient: bool) -> None:
    order.last_error = reason
    if not transient or order.provision_attempts >= PROVISION_ATTEMPTS:
        order.status, order.next_attempt_at = OrderStatus.FAILED, None
        if transient:
            order.last_error = f"{reason} (no answer after {order.provision_attempts} attempts)"
    else:
        order.next_attempt_at = clock.now() + min(FIRST_RETRY * 2 ** (order.provision_attempts - 1), LONGEST_WAIT)


def _accept(order: MarketOrder, answer: dict) -> None:
    instance_id = answer.get("instanceId")
    if isinstance(instance_id, bool) or not isinstance(instance_id, str | int):
        raise AnswerRefused("createInstance answered without a usable instanceId")
    if not INSTANCE_ID.fullmatch(str(instance_id)):
        raise AnswerRefused("createInstance answered an instanceId of the wrong shape")
    app_info = answer.get("appInfo")
    if not isinstance(app_info, dict):
        raise AnswerRefused("createInstance answered without appInfo")
    auth_url = on_isv_origin(app_info.get("authUrl"), "authUrl", required=True)
    front_end_url = on_isv_origin(app_info.get("frontEndUrl"), "frontEndUrl", required=False)
    order.instance_id, order.auth_url, order.front_end_url = str(instance_id), auth_url, front_end_url
    order.status, order.last_error, order.next_attempt_at = OrderStatus.ACTIVE, None, None


def on_isv_origin(url: object, name: str, required: bool) -> str | None:
    """`url` when it is an http(s) URL on the ISV's registered origin; AnswerRefused otherwise."""
    if url is None and not required:
        return None
    if not isinstance(url, str) or len(url) > URL_LIMIT or any(c.isspace() or ord(c) < 32 for c in url):
        raise AnswerRefused(f"createInstance answered an unusable {name}")
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or origin != current_app.config["ISV_ORIGIN"]:
        raise AnswerRefused(f"createInstance answered a {name} outside {current_app.config['ISV_ORIGIN']}")
    return url


def _call(action: str, **params: str) -> dict:
    client = spi_client()
    try:
        return client.call(action, **params)
    finally:
        client.close()


def retry_due() -> int:
    """The worker's job: createInstance again for every order 开通中 whose next attempt is due."""
    due = db.session.scalars(
        select(MarketOrder)
        .filter_by(status=OrderStatus.PENDING)
        .where(MarketOrder.next_attempt_at <= clock.now())
        .order_by(MarketOrder.next_attempt_at)
        .limit(RETRIES_PER_RUN)
    )
    return tasks.one_unit_per_item(list(due), provision)  # each order's attempt is kept whatever the next does


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


def order_by_instance(ali_uid: str, instance_id: str | None) -> MarketOrder | None:
    """The buyer's own order of that instance (the ISV's 立即解锁 links here to 续费 it)."""
    if not instance_id:
        return None
    return db.session.scalar(select(MarketOrder).filter_by(ali_uid=ali_uid, instance_id=instance_id))


def login_free_url(order: MarketOrder) -> str:
    """免登: the ISV's authUrl with action=verify, instanceId, timeStamp and the token."""
    params = {"action": "verify", "instanceId": order.created_instance_id, "timeStamp": spi_time(clock.now())}
    signed = spi.signed(params, current_app.config["ISV_KEY"])
    parts = urlsplit(cast(str, order.auth_url))  # createInstance's answer set it with instance_id
    query = "&".join(filter(None, [parts.query, urlencode(signed)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def renew(order: MarketOrder) -> None:
    expires_at = _in_one_term(max(order.expires_at or clock.now(), clock.now()))
    _call("renewInstance", instanceId=order.created_instance_id, orderId=_new_number(), expiredOn=spi_time(expires_at))
    order.expires_at, order.status = expires_at, OrderStatus.ACTIVE
    order.ended_at, order.renewed_at = None, clock.now()


def upgrade(order: MarketOrder) -> None:
    sku = SKU_UPGRADED if order.sku_id == SKU_PAY_AS_YOU_GO else SKU_PAY_AS_YOU_GO
    _call("upgradeInstance", instanceId=order.created_instance_id, skuId=sku, orderId=_new_number())
    order.sku_id = sku


class ExpiryNotSimulated(Exception):
    """到期 after a 续费: Alibaba Cloud would only send expiredInstance once the renewed term ended."""


def expire(order: MarketOrder) -> None:
    if order.renewed_at is not None:
        raise ExpiryNotSimulated(order.order_id)
    _call("expiredInstance", instanceId=order.created_instance_id)
    order.status, order.ended_at = OrderStatus.EXPIRED, clock.now()


def release(order: MarketOrder) -> None:
    _call("releaseInstance", instanceId=order.created_instance_id, isRefund="false")
    order.status, order.ended_at = OrderStatus.RELEASED, order.ended_at or clock.now()


LIFECYCLE = {"renew": renew, "upgrade": upgrade, "expire": expire, "release": release}
