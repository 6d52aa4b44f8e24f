"""The SPI endpoint: every action, the token over all parameters, idempotency, audit."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from wizard import clock
from wizard.models import MarketplaceInstance, SpiCall

from .conftest import BOTH_DATABASES
from .marketplace import call_spi, create_instance, order_params, signed_query, spi_time


def instance_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(MarketplaceInstance))


def test_create_instance_answers_instance_id_and_app_info(client, app, db):
    params = order_params(order_biz_id="biz-1")
    response = call_spi(client, app, **params)
    assert response.status_code == 200
    body = response.get_json()
    assert body["instanceId"] == "biz-1"
    assert body["appInfo"]["authUrl"] == "http://localhost/spi"
    assert body["appInfo"]["frontEndUrl"] == "http://localhost/login/pwd"
    instance = db.session.scalar(select(MarketplaceInstance))
    assert (instance.ali_uid, instance.order_id, instance.status) == (params["aliUid"], params["orderId"], "active")
    expected = datetime.strptime(params["expiredOn"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert instance.expires_at == expected


def test_public_base_url_is_used_when_configured(client, app):
    app.config["PUBLIC_BASE_URL"] = "https://console.guance.example/"
    body = call_spi(client, app, **order_params()).get_json()
    assert body["appInfo"]["authUrl"] == "https://console.guance.example/spi"


def test_the_addresses_in_the_answer_never_come_from_the_host_header(client, app):
    headers = {"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"}
    response = client.get(f"/spi?{signed_query(app, **order_params())}", headers=headers)
    app_info = response.get_json()["appInfo"]
    assert app_info == {"authUrl": "http://localhost/spi", "frontEndUrl": "http://localhost/login/pwd"}


@pytest.mark.parametrize("days", [-1, 0])
def test_create_instance_refuses_an_expiry_in_the_past(client, app, db, frozen_clock, days):
    expired_on = spi_time(frozen_clock.now() + timedelta(days=days))
    response = call_spi(client, app, **order_params(expiredOn=expired_on))
    assert response.status_code == 400
    assert response.get_json() == {
        "success": False, "code": "InvalidParameter", "message": "parameter expiredOn is in the past",
        "parameter": "expiredOn",
    }  # fmt: skip
    assert instance_count(db) == 0


def test_create_instance_again_returns_the_same_instance_and_creates_nothing(client, app, db):
    params = order_params(order_biz_id="biz-1")
    first = call_spi(client, app, **params).get_json()
    second = call_spi(client, app, **params).get_json()
    assert first == second
    assert instance_count(db) == 1


def test_the_same_order_for_another_account_is_refused(client, app, db):
    create_instance(client, app, order_biz_id="biz-1")
    response = call_spi(client, app, **order_params(ali_uid="999", order_biz_id="biz-1"))
    assert (response.status_code, response.get_json()["code"]) == (409, "OrderConflict")


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_twenty_concurrent_create_instance_calls_give_one_instance(app, db):
    query = signed_query(app, **order_params(order_biz_id="biz-race"))

    def call(_):
        response = app.test_client().get(f"/spi?{query}")
        return response.status_code, response.get_json()["instanceId"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(call, range(20)))
    assert answers == [(200, "biz-race")] * 20
    assert instance_count(db) == 1


def test_extra_unknown_parameters_are_signed_and_accepted(client, app):
    response = call_spi(client, app, **order_params(template="standard", cpuCount="4"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "mutate, code, status",
    [
        (lambda q: q.replace("token=", "token=0"), "InvalidToken", 403),
        (lambda q: q.replace("aliUid=1380000000000001", "aliUid=1380000000000002"), "InvalidToken", 403),
        (lambda q: q + "&extra=1", "InvalidToken", 403),
        (lambda q: "&".join(p for p in q.split("&") if not p.startswith("token=")), "InvalidToken", 403),
    ],
    ids=["token-changed", "parameter-changed", "parameter-added", "token-missing"],
)
def test_a_bad_token_changes_nothing(client, app, db, mutate, code, status):
    response = client.get("/spi?" + mutate(signed_query(app, **order_params())))
    assert (response.status_code, response.get_json()["code"]) == (status, code)
    assert instance_count(db) == 0


def test_upper_case_token_is_refused(client, app, db):
    query = signed_query(app, **order_params())
    token = query.rsplit("token=", 1)[1]
    response = client.get("/spi?" + query.replace(token, token.upper()))
    assert response.get_json()["code"] == "InvalidToken"


@pytest.mark.parametrize("name", ["aliUid", "orderBizId", "orderId", "productCode", "skuId"])
def test_a_missing_parameter_is_named(client, app, db, name):
    params = order_params()
    del params[name]
    response = call_spi(client, app, **params)
    assert response.status_code == 400
    assert response.get_json() == {
        "success": False,
        "code": "MissingParameter",
        "parameter": name,
        "message": f"parameter {name} is required",
    }
    assert instance_count(db) == 0


@pytest.mark.parametrize(
    "name, value",
    [("expiredOn", "2026/11/26"), ("trial", "maybe"), ("aliUid", "12ab"), ("orderBizId", "x" * 65)],
)
def test_a_malformed_parameter_is_refused(client, app, db, name, value):
    response = call_spi(client, app, **order_params(**{name: value}))
    assert (response.status_code, response.get_json()["code"]) == (400, "InvalidParameter")
    assert instance_count(db) == 0


def test_unknown_action(client, app):
    response = call_spi(client, app, action="deleteEverything", instanceId="x")
    assert (response.status_code, response.get_json()["code"]) == (400, "UnknownAction")


def test_a_repeated_parameter_is_refused(client, app):
    query = signed_query(app, **order_params()) + "&aliUid=1"
    response = client.get("/spi?" + query)
    assert response.get_json()["code"] == "InvalidParameter"


def test_renew_records_the_new_expiry_and_unfreezes(client, app, db):
    instance_id = create_instance(client, app)
    assert call_spi(client, app, action="expiredInstance", instanceId=instance_id).get_json() == {"success": True}
    new_expiry = spi_time(clock.now() + timedelta(days=730))
    response = call_spi(client, app, action="renewInstance", instanceId=instance_id, orderId="r1", expiredOn=new_expiry)
    assert response.get_json() == {"success": True}
    instance = db.session.scalar(select(MarketplaceInstance))
    assert instance.status == "active"
    assert spi_time(instance.expires_at) == new_expiry


def test_upgrade_changes_the_sku(client, app, db):
    instance_id = create_instance(client, app)
    response = call_spi(client, app, action="upgradeInstance", instanceId=instance_id, skuId="sku-2", orderId="u1")
    assert response.get_json() == {"success": True}
    assert db.session.scalar(select(MarketplaceInstance.sku_id)) == "sku-2"


def test_expired_instance_is_frozen(client, app, db):
    instance_id = create_instance(client, app)
    call_spi(client, app, action="expiredInstance", instanceId=instance_id)
    assert db.session.scalar(select(MarketplaceInstance.status)) == "expired"


def test_release_is_final_and_idempotent(client, app, db):
    instance_id = create_instance(client, app)
    for _ in range(2):
        response = call_spi(client, app, action="releaseInstance", instanceId=instance_id, isRefund="false")
        assert response.get_json() == {"success": True}
    assert db.session.scalar(select(MarketplaceInstance.status)) == "released"
    renew = call_spi(
        client, app, action="renewInstance", instanceId=instance_id, orderId="r", expiredOn=spi_time(clock.now())
    )
    assert (renew.status_code, renew.get_json()["code"]) == (409, "InstanceReleased")


@pytest.mark.parametrize("action", ["renewInstance", "upgradeInstance", "expiredInstance", "releaseInstance"])
def test_lifecycle_of_an_unknown_instance(client, app, action):
    response = call_spi(
        client,
        app,
        action=action,
        instanceId="nope",
        orderId="o",
        skuId="s",
        expiredOn=spi_time(clock.now()),
        isRefund="false",
    )
    assert (response.status_code, response.get_json()["code"]) == (404, "InstanceNotFound")


def test_every_call_is_audited_without_the_token(client, app, db):
    create_instance(client, app)
    client.get("/spi?" + urlencode({"action": "createInstance", "token": "bad"}))
    calls = list(db.session.scalars(select(SpiCall).order_by(SpiCall.id)))
    assert [(c.action, c.outcome) for c in calls] == [("createInstance", "ok"), ("createInstance", "InvalidToken")]
    assert all("token" not in c.params for c in calls)
    assert calls[0].params["aliUid"] == "1380000000000001"
    assert calls[0].created_at.tzinfo is not None


def test_post_is_not_the_protocol(client):
    assert client.post("/spi").status_code == 405


@BOTH_DATABASES
def test_an_unexpected_failure_is_still_json(client, app, db, monkeypatch):
    from wizard.services import spi

    def explode(call):
        raise RuntimeError("boom")

    monkeypatch.setitem(spi.LIFECYCLE_ACTIONS, "createInstance", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = call_spi(client, app, **order_params())
    assert (response.status_code, response.get_json()["code"]) == (500, "InternalError")
