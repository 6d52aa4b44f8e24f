"""The Guance side of the marketplace SPI: instance lifecycle calls, each answered as JSON and audited.

The protocol has no nonce: a captured call can be sent again at any later time. So each lifecycle
call changes state at most once, and a call that comes out of order is answered {"success": true},
as the marketplace expects, and audited with what was decided (spi_call.outcome), changing nothing:
- renewInstance, upgradeInstance: once per orderId (spi_applied_order); the same orderId again is
  "replayed". A renewal never moves expiredOn backwards: an earlier expiredOn is "stale".
- expiredInstance carries only instanceId, so a replay cannot be told from a new call by what it
  says. Its identity is the term it ends: the first term (until the instance is renewed) may end
  early (a subscription problem); a term opened by a renewal ends at its expiredOn, so an
  expiredInstance before that is the previous term's, late or replayed: "out_of_order". An expired
  instance expired again is "already_expired". (When the date passes, the periodic job expires the
  instance anyway; see services/lifecycle.py.)
- releaseInstance: once per instance; again is "already_released".
Calls for a released instance other than a replay are refused (InstanceReleased): a release is final.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from protocol import spi as spi_token

from .. import clock
from ..extensions import db, savepoint
from ..models import MarketplaceInstance, SpiAppliedOrder, SpiCall
from ..statuses import InstanceStatus
from . import lifecycle
from .ops import events

_DIGITS = re.compile(r"[0-9]{1,32}")
_IDENTIFIER = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
_AUDIT_VALUE_LIMIT = 256


class SpiError(Exception):
    """A refused call: a stable `code` the marketplace can rely on, an HTTP status, a message."""

    def __init__(self, code: str, status: int, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.code, self.status, self.message, self.parameter = code, status, message, parameter

    def body(self) -> dict:
        body = {"success": False, "code": self.code, "message": self.message}
        return body | ({"parameter": self.parameter} if self.parameter else {})


@dataclass(frozen=True)
class SpiSettings:
    isv_key: str
    public_base_url: str
    timezone: str = "Asia/Shanghai"


@dataclass
class SpiCallContext:
    params: Mapping[str, str]
    settings: SpiSettings
    answer: dict = field(default_factory=dict)
    # What the call did, for the audit trail: "ok", or why it changed nothing (see the module's doc).
    outcome: str = "ok"

    def unchanged(self, outcome: str) -> dict:
        """Answer success without changing anything, and say why in the audit trail."""
        self.outcome = outcome
        return {"success": True}


def missing(name: str) -> SpiError:
    return SpiError("MissingParameter", 400, f"parameter {name} is required", name)


def invalid(name: str, why: str) -> SpiError:
    return SpiError("InvalidParameter", 400, f"parameter {name} {why}", name)


def authenticate(params: Mapping[str, str], isv_key: str) -> None:
    if "token" not in params:
        raise SpiError("InvalidToken", 403, "token is missing")
    if not spi_token.is_valid(params, isv_key):
        raise SpiError("InvalidToken", 403, "token does not match the parameters")


def required(params: Mapping[str, str], name: str, pattern: re.Pattern = _IDENTIFIER) -> str:
    value = params.get(name, "")
    if not value:
        raise missing(name)
    if not pattern.fullmatch(value):
        raise invalid(name, "is malformed")
    return value


def parse_spi_time(value: str, name: str, timezone: str) -> datetime:
    """`yyyy-MM-dd HH:mm:ss` in the marketplace's time zone, as an aware datetime."""
    try:
        return spi_token.parse_time(value, timezone)
    except ValueError:
        raise invalid(name, "must look like yyyy-MM-dd HH:mm:ss") from None


def parse_bool(value: str, name: str) -> bool:
    if value.lower() not in {"true", "false"}:
        raise invalid(name, "must be true or false")
    return value.lower() == "true"


def find_instance(params: Mapping[str, str]) -> MarketplaceInstance:
    instance_id = required(params, "instanceId")
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id))
    if instance is None:
        raise SpiError("InstanceNotFound", 404, f"instance {instance_id} does not exist")
    return instance


def refuse_if_released(instance: MarketplaceInstance) -> MarketplaceInstance:
    if not instance.state.live:
        raise SpiError("InstanceReleased", 409, f"instance {instance.instance_id} was released")
    return instance


def live_instance(params: Mapping[str, str]) -> MarketplaceInstance:
    return refuse_if_released(find_instance(params))


def create_instance(call: SpiCallContext) -> dict:
    """Idempotent: the same order always answers the same instanceId; a constraint decides races."""
    params = call.params
    values = {
        "instance_id": required(params, "orderBizId"),
        "ali_uid": required(params, "aliUid", _DIGITS),
        "order_id": required(params, "orderId"),
        "product_code": required(params, "productCode"),
        "sku_id": required(params, "skuId"),
        "trial": parse_bool(params["trial"], "trial") if params.get("trial") else False,
    }
    if params.get("expiredOn"):
        values["expires_at"] = expires_at = parse_spi_time(params["expiredOn"], "expiredOn", call.settings.timezone)
        if expires_at <= clock.now():
            raise invalid("expiredOn", "is in the past")
    instance = _insert_or_existing(values)
    if instance.ali_uid != values["ali_uid"]:
        raise SpiError("OrderConflict", 409, "orderBizId already belongs to another aliUid", "orderBizId")
    base = call.settings.public_base_url.rstrip("/")
    return {
        "instanceId": instance.instance_id,
        "appInfo": {"frontEndUrl": f"{base}/login/pwd", "authUrl": f"{base}/spi"},
        "info": {"edition": "commercial"},
    }


def _insert_or_existing(values: dict) -> MarketplaceInstance:
    # In a savepoint (extensions.savepoint, safe on SQLite too): the loser of a race gets the unique
    # violation and reads the winner's row.
    instance = MarketplaceInstance(**values)
    try:
        with savepoint():
            db.session.add(instance)
        return instance
    except IntegrityError:
        return db.session.scalars(select(MarketplaceInstance).filter_by(instance_id=values["instance_id"])).one()


def first_use_of_order(call: SpiCallContext, action: str, instance: MarketplaceInstance) -> bool:
    """Record the call's orderId as applied; False when it already was (a replay)."""
    order_id = required(call.params, "orderId")
    if db.session.get(SpiAppliedOrder, order_id) is not None:
        return False
    try:
        with savepoint():
            db.session.add(SpiAppliedOrder(order_id=order_id, action=action, instance_id=instance.instance_id))
    except IntegrityError:  # the same order, at the same moment, in another request: that one applies it
        return False
    return True


def renew_instance(call: SpiCallContext) -> dict:
    instance = find_instance(call.params)
    if not call.params.get("expiredOn"):
        raise missing("expiredOn")
    expires_at = parse_spi_time(call.params["expiredOn"], "expiredOn", call.settings.timezone)
    if not first_use_of_order(call, "renewInstance", instance):
        return call.unchanged("replayed")
    refuse_if_released(instance)
    if instance.expires_at is not None and expires_at < instance.expires_at:
        return call.unchanged("stale")
    lifecycle.renew(instance, expires_at)
    return {"success": True}


def upgrade_instance(call: SpiCallContext) -> dict:
    instance = find_instance(call.params)
    sku_id = required(call.params, "skuId")
    if not first_use_of_order(call, "upgradeInstance", instance):
        return call.unchanged("replayed")
    refuse_if_released(instance).sku_id = sku_id
    return {"success": True}


def expire_instance(call: SpiCallContext) -> dict:
    """The workspace starts its lock countdown; a renewal makes the instance active again."""
    instance = live_instance(call.params)
    if instance.state is InstanceStatus.EXPIRED:
        return call.unchanged("already_expired")
    if instance.renewed_at is not None and instance.expires_at is not None and instance.expires_at > clock.now():
        return call.unchanged("out_of_order")
    if not lifecycle.expire(instance):  # another request expired it a moment ago
        return call.unchanged("already_expired")
    return {"success": True}


def release_instance(call: SpiCallContext) -> dict:
    """Released for good; its workspace falls back to 费用中心 settlement."""
    instance = find_instance(call.params)
    if not instance.state.live:
        return call.unchanged("already_released")
    lifecycle.release(instance)
    return {"success": True}


LIFECYCLE_ACTIONS: dict[str, Callable[[SpiCallContext], dict]] = {
    "createInstance": create_instance,
    "renewInstance": renew_instance,
    "upgradeInstance": upgrade_instance,
    "expiredInstance": expire_instance,
    "releaseInstance": release_instance,
}


def answer(params: Mapping[str, str], settings: SpiSettings) -> tuple[dict, int]:
    """Authenticate, run one lifecycle action, record the call; never raises SpiError. In the endpoint's unit
    of work: the action in a savepoint, all or nothing, and the call's record whatever became of it."""
    action = params.get("action", "")
    try:
        authenticate(params, settings.isv_key)
        if action not in LIFECYCLE_ACTIONS:
            raise SpiError("UnknownAction", 400, f"action {action[:64]!r} is not supported", "action")
        call = SpiCallContext(params, settings)
        with savepoint():
            body = LIFECYCLE_ACTIONS[action](call)
        outcome, status = call.outcome, 200
    except SpiError as error:
        body, outcome, status = error.body(), error.code, error.status
    record_call(action, params, outcome)
    return body, status


def _auditable(text: str, limit: int) -> str:
    """As received, cut to `limit`, but NUL: PostgreSQL cannot store it (a hostile call would fail as a 500)."""
    return text[:limit].replace("\x00", "\ufffd")


def record_call(action: str, params: Mapping[str, str], outcome: str) -> None:
    """Audit trail, in the endpoint's unit of work after the action's savepoint, so refused calls are
    recorded too; the token never is."""
    kept = {
        _auditable(name, 64): _auditable(value, _AUDIT_VALUE_LIMIT) for name, value in params.items() if name != "token"
    }
    instance_id = kept.get("instanceId") or kept.get("orderBizId")
    db.session.add(
        SpiCall(
            action=_auditable(action, 64) or "-",
            params=kept,
            outcome=outcome,
            instance_id=instance_id and instance_id[:64],
        )
    )
    events.spi_call(action, params, outcome)  # metrics, the log, the funnel's first steps, webhooks
