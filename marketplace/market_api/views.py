"""POST /: authenticate the SDK's signature, run the action, answer JSON (Alibaba's error shape when refused)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, jsonify, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db, savepoint
from ..models import ApiNonce
from . import bp
from .errors import NONCE_USED, UNKNOWN_ACTION, UNSUPPORTED_VERSION, ApiError, new_request_id, refused
from .metering import MeteringRules, describe_push_metering_data, push_metering_data
from .signature import Caller, verify

VERSION = "2015-11-01"


def _push(caller: Caller, request_id: str, now: datetime) -> dict:
    return push_metering_data(caller.params, metering_rules(), request_id, now)


def _describe(caller: Caller, request_id: str, _now: datetime) -> dict:
    return describe_push_metering_data(caller.params, metering_rules(), request_id)


ACTIONS = {"PushMeteringData": _push, "DescribePushMeteringData": _describe}


def metering_rules() -> MeteringRules:
    config = current_app.config
    return MeteringRules(
        products=frozenset(config["ISV_PRODUCT_CODES"]), prices=config["PRICE_LIST"],
        max_records=config["METERING_MAX_RECORDS"],
        request_interval=timedelta(seconds=config["METERING_REQUEST_INTERVAL_SECONDS"]),
    )  # fmt: skip


def signature_window() -> timedelta:
    return timedelta(seconds=current_app.config["API_SIGNATURE_WINDOW_SECONDS"])


def remember_nonce(caller: Caller, now: datetime) -> None:
    """A nonce is good once while its timestamp could pass; kept outside the action's savepoint, so a
    refused request cannot be replayed either."""
    db.session.execute(delete(ApiNonce).where(ApiNonce.expires_at < now))
    try:
        with savepoint():
            db.session.add(ApiNonce(access_key_id=caller.access_key_id, nonce=caller.nonce[:128],
                                    expires_at=now + 2 * signature_window()))  # fmt: skip
    except IntegrityError:
        raise refused(NONCE_USED) from None


def access_keys() -> dict[str, str]:
    config = current_app.config
    return {config["MARKET_ACCESS_KEY_ID"]: config["MARKET_ACCESS_KEY_SECRET"]}


def answer(request_id: str) -> dict:
    now = clock.now()
    caller = verify(request, access_keys(), now, signature_window())
    remember_nonce(caller, now)
    if caller.action not in ACTIONS:
        raise refused(UNKNOWN_ACTION)
    if caller.version != VERSION:
        raise refused(UNSUPPORTED_VERSION)
    with savepoint():  # the action all or nothing; a refused one leaves only its nonce
        return ACTIONS[caller.action](caller, request_id, now)


@bp.post("/")
def market_api():
    request_id = new_request_id()
    try:
        return jsonify(answer(request_id))
    except ApiError as error:
        return jsonify(error.body(request_id)), error.status
