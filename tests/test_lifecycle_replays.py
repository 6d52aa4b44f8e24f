"""Lifecycle SPI calls are replay-safe: the protocol has no nonce, so a captured call can come again at any
time. Each applies once (per orderId, or per the term it ends), expiredOn never moves backwards, and a call
out of order is answered {"success": true} and audited, changing nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from wizard import clock
from wizard.models import MarketplaceInstance, SpiAppliedOrder, SpiCall, Workspace

from .activation import activate_by_binding, add_billing_account
from .helpers import run_lifecycle
from .marketplace import call_spi, create_instance, signed_query, spi_time

DAY = 24 * 3600


def state(db, instance_id: str) -> tuple:
    db.session.expire_all()
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id))
    return instance.status, instance.expires_at, instance.sku_id


def last_outcome(db) -> str:
    db.session.expire_all()
    return db.session.scalar(select(SpiCall.outcome).order_by(SpiCall.id.desc()).limit(1))


def renewal(instance_id: str, order_id: str, days: int) -> dict:
    expired_on = spi_time(clock.now() + timedelta(days=days))
    return {"action": "renewInstance", "instanceId": instance_id, "orderId": order_id, "expiredOn": expired_on}


def send(client, app, params: dict) -> dict:
    response = call_spi(client, app, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def instance_id(client, app, frozen_clock):
    return create_instance(client, app)


def test_an_old_renewal_replayed_cannot_undo_a_later_expiry(client, app, db, instance_id, frozen_clock):
    send(client, app, {"action": "expiredInstance", "instanceId": instance_id})
    captured = renewal(instance_id, "renew-1", days=400)
    send(client, app, captured)
    assert state(db, instance_id)[0] == "active"
    frozen_clock.advance(401 * DAY)  # the renewed term ends; the job expires the instance by its date
    assert run_lifecycle().expired == 1
    before = state(db, instance_id)
    assert send(client, app, captured) == {"success": True}
    assert state(db, instance_id) == before and before[0] == "expired"
    assert last_outcome(db) == "replayed"


def test_a_renewal_never_moves_the_expiry_backwards(client, app, db, instance_id):
    send(client, app, renewal(instance_id, "renew-long", days=800))
    before = state(db, instance_id)
    assert send(client, app, renewal(instance_id, "renew-short", days=500)) == {"success": True}
    assert state(db, instance_id) == before
    assert last_outcome(db) == "stale"


def test_an_expiry_replayed_after_a_renewal_changes_nothing(client, app, customer, db, smtp, frozen_clock):
    add_billing_account()
    instance_id = activate_by_binding(customer)
    expiry = {"action": "expiredInstance", "instanceId": instance_id}
    send(client, app, expiry)
    send(client, app, renewal(instance_id, "renew-1", days=365))
    smtp.clear()
    assert send(client, app, expiry) == {"success": True}  # captured before the renewal, sent again
    assert state(db, instance_id)[0] == "active"
    assert db.session.scalar(select(Workspace.status).filter_by(name="生产环境")) == "active"
    assert last_outcome(db) == "out_of_order"
    assert smtp.messages() == []


def test_an_expiry_applies_once(client, app, customer, db, smtp, frozen_clock):
    add_billing_account()
    instance_id = activate_by_binding(customer)
    smtp.clear()
    for _ in range(3):
        assert send(client, app, {"action": "expiredInstance", "instanceId": instance_id}) == {"success": True}
    assert last_outcome(db) == "already_expired"
    assert len(smtp.messages("acme_owner@acme.example")) == 1


def test_an_upgrade_replayed_does_not_undo_a_later_one(client, app, db, instance_id):
    first = {"action": "upgradeInstance", "instanceId": instance_id, "skuId": "sku-2", "orderId": "up-1"}
    send(client, app, first)
    send(client, app, {**first, "skuId": "sku-3", "orderId": "up-2"})
    assert send(client, app, first) == {"success": True}
    assert state(db, instance_id)[2] == "sku-3"
    assert last_outcome(db) == "replayed"


def test_a_release_applies_once(client, app, db, instance_id):
    release = {"action": "releaseInstance", "instanceId": instance_id, "isRefund": "false"}
    send(client, app, release)
    released_at = db.session.scalar(select(MarketplaceInstance.released_at))
    assert send(client, app, release) == {"success": True}
    db.session.expire_all()
    assert db.session.scalar(select(MarketplaceInstance.released_at)) == released_at
    assert last_outcome(db) == "already_released"


def test_a_renewal_replayed_after_the_release_is_answered_as_a_replay(client, app, db, instance_id):
    captured = renewal(instance_id, "renew-1", days=400)
    send(client, app, captured)
    send(client, app, {"action": "releaseInstance", "instanceId": instance_id, "isRefund": "false"})
    assert send(client, app, captured) == {"success": True}
    assert state(db, instance_id)[0] == "released" and last_outcome(db) == "replayed"
    fresh = call_spi(client, app, **renewal(instance_id, "renew-2", days=500))
    assert (fresh.status_code, fresh.get_json()["code"]) == (409, "InstanceReleased")
    assert db.session.scalar(select(func.count()).select_from(SpiAppliedOrder)) == 1  # renew-2 not recorded


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_the_same_renewal_twenty_times_at_once_applies_once(app, db):
    with app.app_context():
        instance_id = create_instance(app.test_client(), app)
    query = signed_query(app, **renewal(instance_id, "renew-race", days=400))

    def call(_):
        response = app.test_client().get(f"/spi?{query}")
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(call, range(20)))
    assert answers == [(200, {"success": True})] * 20
    outcomes = db.session.scalars(select(SpiCall.outcome).filter_by(action="renewInstance")).all()
    assert sorted(outcomes) == ["ok"] + ["replayed"] * 19
    assert db.session.scalar(select(func.count()).select_from(SpiAppliedOrder)) == 1
