"""The simulator's market API as Alibaba Cloud's gateway: the official SDK's signatures (V3 and V2)
checked, refusals in Alibaba's shape, and every rule of PushMeteringData with its own error code."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.billing import amount_in_fen
from marketplace.extensions import db as market_db
from marketplace.models import MarketOrder, MeteringRecord
from wizard import create_app
from wizard.services.market_api import MarketApi, MarketApiError, MarketApiSettings

from .conftest import guance_settings
from .metering import ACCESS_KEY_ID, ACCESS_KEY_SECRET, START, add_market_order

BUYER = "1380000000000077"
INSTANCE = "51380000000000077000001"
OPENED = START - timedelta(days=1)
HOUR_START = int(START.timestamp()) // 3600 * 3600 - 3600  # the last closed hour: 09:00-10:00 in Shanghai


def api(live_market, signature: str = "v3", secret: str = ACCESS_KEY_SECRET, key_id: str = ACCESS_KEY_ID) -> MarketApi:
    return MarketApi(MarketApiSettings(live_market.endpoint, "http", key_id, secret, signature, timeout=5))


def record(instance: str = INSTANCE, start: int = HOUR_START, end: int | None = None, **values) -> dict:
    entities = [{"Key": key, "Value": value} for key, value in (values or {"DataPoints": 1_000_000}).items()]
    return {"InstanceId": instance, "StartTime": start, "EndTime": end or start + 3600, "Entities": entities}


@pytest.fixture
def order(simulator, metering_clock):
    add_market_order(simulator, BUYER, INSTANCE, OPENED)
    return INSTANCE


def refusal(call) -> MarketApiError:
    with pytest.raises(MarketApiError) as refused:
        call()
    return refused.value


def billed_count(simulator) -> int:
    with simulator.app_context():
        return market_db.session.scalar(select(func.count()).select_from(MeteringRecord))


# ---- The signature ----


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_the_sdks_signed_push_is_accepted_and_billed(simulator, live_market, order, signature):
    request_id = api(live_market, signature).push_metering_data([record(DataPoints=2_000_000, ApiCalls=300)])
    assert len(request_id) == 36
    with simulator.app_context():
        lines = {
            r.entity_key: (r.quantity, r.unit_price, r.amount_fen)
            for r in market_db.session.scalars(select(MeteringRecord))
        }
    assert lines == {"DataPoints": (2_000_000, "0.000002", 400), "ApiCalls": (300, "0.0001", 3)}


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_a_wrong_secret_is_refused(simulator, live_market, order, signature):
    error = refusal(lambda: api(live_market, signature, secret="not-the-secret").push_metering_data([record()]))
    assert error.code == "SignatureDoesNotMatch" and not error.refused
    assert billed_count(simulator) == 0


def test_an_unknown_access_key_is_refused(live_market, order):
    error = refusal(lambda: api(live_market, key_id="LTAI5tSomeoneElse").push_metering_data([record()]))
    assert error.code == "InvalidAccessKeyId.NotFound"


def first_push(live_market, signature: str):
    api(live_market, signature).push_metering_data([record()])
    return live_market.faults.recorded[-1]


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_a_changed_parameter_is_refused_in_alibabas_shape(simulator, live_market, order, signature):
    sent = first_push(live_market, signature)
    changed = sent.query_string.replace("1000000", "1")
    assert changed != sent.query_string
    with simulator.app_context():  # a fresh instance turn, so only the signature can refuse it
        market_db.session.execute(market_db.delete(MeteringRecord))
        market_db.session.commit()
    answer = sent.send(simulator.test_client(), changed)
    body = answer.get_json()
    assert answer.status_code == 400 and body["Code"] == "SignatureDoesNotMatch"
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"} and len(body["RequestId"]) == 36
    assert billed_count(simulator) == 0


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_a_replayed_request_is_refused(simulator, live_market, order, signature):
    sent = first_push(live_market, signature)
    answer = sent.send(simulator.test_client())
    assert answer.status_code == 400 and answer.get_json()["Code"] == "SignatureNonceUsed"


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_a_stale_timestamp_is_refused(simulator, live_market, order, metering_clock, signature, monkeypatch):
    from alibabacloud_tea_openapi.utils import Utils

    stale = (START - timedelta(minutes=16)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: stale))
    error = refusal(lambda: api(live_market, signature).push_metering_data([record()]))
    assert error.code == "InvalidTimeStamp.Expired"


def test_unsigned_calls_and_unknown_actions_are_refused_and_the_product_page_stays(simulator, live_market, order):
    client = simulator.test_client()
    unsigned = client.post("/?Action=PushMeteringData&Metering=[]")
    assert unsigned.status_code == 400 and unsigned.get_json()["Code"] == "MissingAccessKeyId"
    assert client.get("/").status_code == 200 and "观测云" in client.get("/").get_data(as_text=True)
    market = api(live_market)
    from alibabacloud_tea_openapi import utils_models

    params = utils_models.Params(
        action="DeleteEverything", version="2015-11-01", protocol="HTTP", pathname="/", method="POST", auth_type="AK",
        style="RPC", req_body_type="formData", body_type="json",
    )  # fmt: skip
    error = refusal(
        lambda: market._call(
            lambda: market.client.call_api(params, utils_models.OpenApiRequest(query={}), market._runtime())
        )
    )
    assert error.code == "InvalidAction.NotFound"


# ---- What PushMeteringData accepts, each refusal with its code ----


def push_text(live_market, text: str) -> MarketApiError:
    return refusal(lambda: api(live_market).push_metering_json(text))


@pytest.mark.parametrize(
    "metering, code",
    [
        ("[{", "InvalidMetering.Malformed"),
        ("{}", "InvalidMetering.Malformed"),
        (json.dumps([{"InstanceId": INSTANCE}]), "InvalidMetering.Malformed"),
        (json.dumps([record(DataPoints=-1)]), "InvalidMetering.Value"),
        (json.dumps([record(DataPoints=1.5)]), "InvalidMetering.Value"),
        (json.dumps([record(DataPoints="12")]), "InvalidMetering.Value"),
        (json.dumps([record(instance="59999999999999")]), "InvalidInstanceId.NotFound"),
        (json.dumps([record()] * 101), "InvalidMetering.TooManyRecords"),
        (json.dumps([record(end=HOUR_START + 300)]), "InvalidMetering.Window"),
        (json.dumps([record(start=HOUR_START + 1800, end=HOUR_START + 5400)]), "InvalidMetering.Window"),
        (json.dumps([record(start=HOUR_START - 3 * 3600)]), "InvalidMetering.DeadlineExceeded"),
        (json.dumps([record(Storage=5)]), "InvalidMetering.UnknownEntity"),
    ],
)
def test_each_bad_metering_is_refused_with_its_own_code(simulator, live_market, order, metering, code):
    error = push_text(live_market, metering)
    assert error.code == code and error.refused
    assert billed_count(simulator) == 0


def test_the_usage_of_8_10_to_8_20_is_accepted_until_the_end_of_the_next_hour(
    simulator, live_market, order, metering_clock
):
    ten_minutes = record(start=HOUR_START + 600, end=HOUR_START + 1200)  # a window longer than 5 minutes
    metering_clock.advance(minutes=49)  # 10:59 in Shanghai: the last minute of the next hour
    api(live_market).push_metering_data([ten_minutes])
    assert billed_count(simulator) == 1


def test_another_products_instance_and_a_mixed_request_are_refused(simulator, live_market, order):
    add_market_order(simulator, "1380000000000078", "51380000000000078000001", OPENED, product="cmgj00099999")
    other = record(instance="51380000000000078000001")
    assert push_text(live_market, json.dumps([other])).code == "Forbidden.NotProductOwner"
    simulator.config["ISV_PRODUCT_CODES"] = ("cmgj00053362", "cmgj00099999")  # the ISV sells both
    assert push_text(live_market, json.dumps([record(), other])).code == "InvalidMetering.MixedProducts"
    assert billed_count(simulator) == 0


def test_a_second_request_for_the_instance_within_60_seconds_is_throttled(
    simulator, live_market, order, metering_clock
):
    market = api(live_market)
    market.push_metering_data([record()])
    metering_clock.advance(seconds=59)
    error = refusal(lambda: market.push_metering_data([record()]))
    assert error.code == "Throttling.Instance" and not error.refused  # the pusher waits and tries again
    metering_clock.advance(seconds=1)
    market.push_metering_data([record()])
    assert billed_count(simulator) == 1


def test_the_same_record_twice_is_billed_once_and_another_value_for_it_refused(
    simulator, live_market, order, metering_clock
):
    market = api(live_market)
    market.push_metering_data([record(), record()])  # twice in one request too
    metering_clock.advance(seconds=60)
    market.push_metering_data([record()])
    assert billed_count(simulator) == 1
    metering_clock.advance(seconds=60)
    assert refusal(lambda: market.push_metering_data([record(DataPoints=5)])).code == "InvalidMetering.Conflict"
    assert billed_count(simulator) == 1


def test_nothing_is_billed_after_the_instance_ended(simulator, live_market, order, metering_clock):
    with simulator.app_context():  # 到期 at 10:05 in Shanghai
        order_row = market_db.session.scalar(select(MarketOrder).filter_by(instance_id=INSTANCE))
        order_row.status, order_row.ended_at = "expired", START - timedelta(minutes=5)
        market_db.session.commit()
    after = record(start=HOUR_START + 3600, end=HOUR_START + 3600 + 480)  # 10:00-10:08
    assert refusal(lambda: api(live_market).push_metering_data([after])).code == "InvalidMetering.InstanceExpired"
    api(live_market).push_metering_data([record()])  # 09:00-10:00 ended before: billed
    assert billed_count(simulator) == 1


def test_describe_lists_what_was_billed_signed_like_the_rest(simulator, live_market, order):
    market = api(live_market)
    market.push_metering_data([record(DataPoints=7, ApiCalls=9)])
    listed = market.describe_push_metering_data(HOUR_START, HOUR_START + 3600)
    assert sorted((r["InstanceId"], r["Key"], r["Value"]) for r in listed) == [
        (INSTANCE, "ApiCalls", 9),
        (INSTANCE, "DataPoints", 7),
    ]
    assert market.describe_push_metering_data(HOUR_START + 3600, HOUR_START + 7200) == []
    wrong = api(live_market, secret="wrong")
    assert (
        refusal(lambda: wrong.describe_push_metering_data(HOUR_START, HOUR_START + 3600)).code
        == "SignatureDoesNotMatch"
    )


# ---- Prices ----


@pytest.mark.parametrize(
    "quantity, price, fen",
    [
        (2_000_000, "0.000002", 400),
        (4_999, "0.000002", 0),
        (5_000, "0.000002", 1),
        (12_345, "0.0001", 123),
        (0, "0.0001", 0),
    ],
)
def test_amounts_round_to_the_fen_and_under_a_fen_to_zero(quantity, price, fen):
    assert amount_in_fen(quantity, Decimal(price)) == fen


def test_the_guance_side_talks_to_the_real_marketplace_by_configuration(database, smtp_server):
    app = create_app(guance_settings(database, smtp_server, "127.0.0.1:1", APP_ENV="testing"))
    assert MarketApiSettings.from_config(app.config).endpoint == "127.0.0.1:1"
    production = {
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "ISV_KEY": "k" * 16,
        "PUBLIC_BASE_URL": "https://g.example",
    }
    from wizard.config import load

    settings = load(production, environ={})
    assert (settings["MARKET_API_ENDPOINT"], settings["MARKET_API_PROTOCOL"]) == ("market.aliyuncs.com", "https")
    assert settings["MARKET_ACCESS_KEY_SECRET"] is None
