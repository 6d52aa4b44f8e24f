"""PushMeteringData and DescribePushMeteringData: what the marketplace accepts, keeps and bills.

An hourly product's rules (Alibaba Cloud Marketplace): `Metering` is a JSON array of at most 100
records `{InstanceId, StartTime, EndTime, Entities: [{Key, Value}]}` (Unix seconds, integer values
>= 0), all of one product the caller owns; one request per instance per 60 seconds; a window longer
than 5 minutes inside one clock hour; the hour's usage arrives before the end of the next hour and
never for time after the instance ended. A record (instance, hour, entity) is billed once: the same
record again is accepted and changes nothing; another value for it is refused.

A request is accepted whole or refused whole, each refusal with its own code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeGuard

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..billing import amount_in_fen
from ..extensions import db, execute_dml, savepoint
from ..models import MarketOrder, MeteringRecord, MeteringThrottle
from .errors import ApiError, invalid, missing

HOUR = 3600
SHORTEST_WINDOW = 300  # an hourly product refuses a window of 5 minutes or less
LARGEST_VALUE = 10**15
DESCRIBE_PAGE_SIZE = 100
DESCRIBE_LARGEST_PAGE = 500


@dataclass(frozen=True)
class MeteringRules:
    products: frozenset[str]  # the product codes of the caller (the ISV's AccessKey)
    prices: Mapping[str, Decimal]  # metering key -> unit price (yuan)
    max_records: int = 100
    request_interval: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Usage:
    """One entity of one pushed record."""

    instance_id: str
    start_time: int
    end_time: int
    key: str
    value: int

    @property
    def hour_start(self) -> datetime:
        return datetime.fromtimestamp(self.start_time - self.start_time % HOUR, UTC)

    @property
    def deadline(self) -> datetime:
        """The end of the next hour: usage of 8:10-8:20 is billed only if it arrives by 9:59:59."""
        return self.hour_start + timedelta(seconds=2 * HOUR)


def malformed(why: str) -> ApiError:
    return ApiError("InvalidMetering.Malformed", 400, f"The specified Metering is malformed: {why}.")


def parse_metering(text: str | None, max_records: int) -> list[Usage]:
    if not text:
        raise missing("Metering")
    try:
        records = json.loads(text)
    except ValueError:
        raise malformed("it is not JSON") from None
    if not isinstance(records, list) or not records:
        raise malformed("it must be a non-empty JSON array of records")
    if len(records) > max_records:
        raise ApiError("InvalidMetering.TooManyRecords", 400, f"A request carries at most {max_records} records.")
    return [usage for record in records for usage in parse_record(record)]


def _integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_record(record: object) -> list[Usage]:
    if not isinstance(record, dict):
        raise malformed("every record must be a JSON object")
    instance_id, start, end, entities = (
        record.get(name) for name in ("InstanceId", "StartTime", "EndTime", "Entities")
    )
    if not isinstance(instance_id, str) or not instance_id or len(instance_id) > 64:
        raise malformed("InstanceId must be a string")
    if not _integer(start) or not _integer(end) or start < 0:
        raise malformed("StartTime and EndTime must be Unix seconds")
    check_window(start, end)
    if not isinstance(entities, list) or not entities:
        raise malformed("Entities must be a non-empty array")
    return [Usage(instance_id, start, end, *parse_entity(entity)) for entity in entities]


def check_window(start: int, end: int) -> None:
    if end - start <= SHORTEST_WINDOW:
        raise ApiError("InvalidMetering.Window", 400, "An hourly product's window must be longer than 5 minutes.")
    if end - start > HOUR or start // HOUR != (end - 1) // HOUR:
        raise ApiError("InvalidMetering.Window", 400, "A record's window must lie within one clock hour.")


def parse_entity(entity: object) -> tuple[str, int]:
    if not isinstance(entity, dict) or not isinstance(entity.get("Key"), str) or not entity["Key"]:
        raise malformed("every entity must have a Key")
    value = entity.get("Value")
    if not _integer(value) or not 0 <= value <= LARGEST_VALUE:
        raise ApiError(
            "InvalidMetering.Value", 400, f"The value of {entity['Key'][:64]} must be a non-negative integer."
        )
    return entity["Key"][:64], value


# ---- Accepting a push ----


def orders_of(usages: Iterable[Usage]) -> dict[str, MarketOrder]:
    wanted = {usage.instance_id for usage in usages}
    found = {
        o.created_instance_id: o
        for o in db.session.scalars(select(MarketOrder).where(MarketOrder.instance_id.in_(wanted)))
    }
    unknown = sorted(wanted - set(found))
    if unknown:
        raise ApiError("InvalidInstanceId.NotFound", 404, f"The specified instance {unknown[0]} does not exist.")
    return found


def check_ownership(orders: Mapping[str, MarketOrder], rules: MeteringRules) -> None:
    for order in orders.values():
        if order.product_code not in rules.products:
            raise ApiError(
                "Forbidden.NotProductOwner", 403, f"The instance {order.instance_id} is not of a product you own."
            )
    if len({order.product_code for order in orders.values()}) > 1:
        raise ApiError("InvalidMetering.MixedProducts", 400, "The records of one request must be of one product.")


def end_of_service(order: MarketOrder) -> datetime | None:
    ends = [moment for moment in (order.ended_at, order.expires_at) if moment is not None]
    return min(ends) if ends else None


def new_usages(usages: list[Usage], orders: Mapping[str, MarketOrder]) -> list[Usage]:
    """The usages not billed yet; the same record again is skipped, another value for it refused."""
    fresh: dict[tuple, Usage] = {}
    for usage in usages:
        key = (usage.instance_id, usage.hour_start, usage.key)
        known = fresh.get(key) or billed(key)
        if known is None:
            fresh[key] = usage
        elif (known.start_time, known.end_time, known.value) != (usage.start_time, usage.end_time, usage.value):
            raise ApiError(
                "InvalidMetering.Conflict", 400,
                f"The usage of {usage.key} for instance {usage.instance_id} in this hour was already billed "
                "with another value.",
            )  # fmt: skip
    return list(fresh.values())


def billed(key: tuple) -> Usage | None:
    instance_id, hour_start, entity_key = key
    record = db.session.scalar(
        select(MeteringRecord).filter_by(instance_id=instance_id, hour_start=hour_start, entity_key=entity_key)
    )
    if record is None:
        return None
    return Usage(record.instance_id, record.start_time, record.end_time, record.entity_key, record.quantity)


def check_billable(usages: list[Usage], orders: Mapping[str, MarketOrder], rules: MeteringRules, now: datetime):
    for usage in usages:
        if usage.key not in rules.prices:
            raise ApiError("InvalidMetering.UnknownEntity", 400, f"{usage.key} is not a metering item of the product.")
        if datetime.fromtimestamp(usage.end_time, UTC) > now:
            raise ApiError("InvalidMetering.Window", 400, "A record's window must have ended.")
        end = end_of_service(orders[usage.instance_id])
        if end is not None and datetime.fromtimestamp(usage.end_time, UTC) > end:
            raise ApiError(
                "InvalidMetering.InstanceExpired", 400, f"The instance {usage.instance_id} had expired or was released."
            )
        if now >= usage.deadline:
            raise ApiError(
                "InvalidMetering.DeadlineExceeded", 400,
                "The usage of an hour must arrive before the end of the next hour.",
            )  # fmt: skip


def take_turn(instance_id: str, now: datetime, interval: timedelta) -> None:
    """One request per instance per interval: a conditional update, so two requests at once cannot both pass."""
    turned = execute_dml(
        update(MeteringThrottle)
        .where(MeteringThrottle.instance_id == instance_id, MeteringThrottle.last_request_at <= now - interval)
        .values(last_request_at=now)
    )
    if turned.rowcount == 1:
        return
    if db.session.get(MeteringThrottle, instance_id) is None:
        db.session.add(MeteringThrottle(instance_id=instance_id, last_request_at=now))
        try:
            db.session.flush()
            return
        except IntegrityError:
            pass
    raise ApiError(
        "Throttling.Instance", 400,
        f"Request was denied due to flow control: one request per instance every {int(interval.total_seconds())} "
        "seconds.",
    )  # fmt: skip


def record(usage: Usage, order: MarketOrder, rules: MeteringRules, request_id: str, now: datetime) -> MeteringRecord:
    price = rules.prices[usage.key]
    return MeteringRecord(
        order_id=order.id, instance_id=usage.instance_id, hour_start=usage.hour_start, start_time=usage.start_time,
        end_time=usage.end_time, entity_key=usage.key, quantity=usage.value, unit_price=str(price),
        amount_fen=amount_in_fen(usage.value, price), request_id=request_id, received_at=now,
    )  # fmt: skip


def push_metering_data(params: Mapping[str, str], rules: MeteringRules, request_id: str, now: datetime) -> dict:
    """Validate, then keep the new records and take the instances' turns, all or nothing (the API's view
    runs the action in a savepoint)."""
    usages = parse_metering(params.get("Metering"), rules.max_records)
    orders = orders_of(usages)
    check_ownership(orders, rules)
    fresh = new_usages(usages, orders)
    check_billable(fresh, orders, rules, now)
    for instance_id in sorted(orders):
        take_turn(instance_id, now, rules.request_interval)
    try:
        with savepoint():
            db.session.add_all(record(usage, orders[usage.instance_id], rules, request_id, now) for usage in fresh)
    except IntegrityError:  # the same record, in a request that raced this one: nothing is billed twice
        raise ApiError(
            "ServiceUnavailable", 503, "The request has failed due to a temporary failure of the server."
        ) from None
    return {"RequestId": request_id, "Success": True}


# ---- DescribePushMeteringData: what was accepted, for the ISV's reconciliation ----


def integer_param(params: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise missing(name)
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid(name, f"it must be an integer from {low} to {high}")
    return int(raw)


def describe_push_metering_data(params: Mapping[str, str], rules: MeteringRules, request_id: str) -> dict:
    """The accepted records of the caller's products whose hour starts in [StartTime, EndTime), a page at a time."""
    start = integer_param(params, "StartTime", None, 0, 2**40)
    end = integer_param(params, "EndTime", None, 0, 2**40)
    page = integer_param(params, "PageNumber", 1, 1, 10**6)
    size = integer_param(params, "PageSize", DESCRIBE_PAGE_SIZE, 1, DESCRIBE_LARGEST_PAGE)
    query = (
        select(MeteringRecord)
        .join(MarketOrder, MarketOrder.id == MeteringRecord.order_id)
        .where(
            MarketOrder.product_code.in_(rules.products),
            MeteringRecord.hour_start >= datetime.fromtimestamp(start, UTC),
            MeteringRecord.hour_start < datetime.fromtimestamp(end, UTC),
        )
    )
    if params.get("InstanceId"):
        query = query.where(MeteringRecord.instance_id == params["InstanceId"])
    total = db.session.scalar(select(db.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(MeteringRecord.hour_start, MeteringRecord.instance_id, MeteringRecord.entity_key)
        .offset((page - 1) * size)
        .limit(size)
    )
    return {
        "RequestId": request_id, "TotalCount": total, "PageNumber": page, "PageSize": size,
        "MeteringData": [
            {"InstanceId": r.instance_id, "StartTime": r.start_time, "EndTime": r.end_time, "Key": r.entity_key,
             "Value": r.quantity, "Amount": f"{r.amount_fen / 100:.2f}"}
            for r in rows
        ],
    }  # fmt: skip
