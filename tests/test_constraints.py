"""The database itself keeps data unique, whatever the Python code above it checks."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from wizard.models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    Workspace,
)

from .conftest import BOTH_DATABASES


def guance_account(site="cn1", username="alice", email="alice@example.com"):
    return GuanceAccount(site=site, username=username, email=email, password_hash="x")


def billing_account(username="billing"):
    return BillingAccount(username=username, email=f"{username}@example.com", password_hash="x")


def instance(instance_id, workspace=None, status="active"):
    return MarketplaceInstance(
        instance_id=instance_id,
        ali_uid="1380000000000009",
        order_id=f"o-{instance_id}",
        product_code="cmgj00053362",
        sku_id="pay-as-you-go",
        workspace=workspace,
        status=status,
    )


def add_all(db, *rows):
    db.session.add_all(rows)
    db.session.commit()


def refused(db, *rows):
    db.session.add_all(rows)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@BOTH_DATABASES
@pytest.mark.parametrize("clash", [{"email": "other@example.com"}, {"username": "other"}])
def test_guance_username_and_email_are_unique_per_site(db, clash):
    add_all(db, guance_account())
    refused(db, guance_account(**clash))


@BOTH_DATABASES
def test_the_same_username_and_email_may_exist_on_another_site(db):
    add_all(db, guance_account(site="cn1"), guance_account(site="cn2"))
    assert db.session.query(GuanceAccount).count() == 2


@BOTH_DATABASES
def test_billing_center_username_is_unique(db):
    add_all(db, billing_account())
    refused(db, billing_account())


@BOTH_DATABASES
def test_an_aliyun_account_binds_to_one_billing_center_account(db):
    first, second = billing_account("first"), billing_account("second")
    add_all(db, first, second, CloudAccountBinding(ali_uid="1380000000000009", billing_account=first))
    refused(db, CloudAccountBinding(ali_uid="1380000000000009", billing_account=second))


@BOTH_DATABASES
def test_instance_id_is_unique(db):
    add_all(db, instance("order-1"))
    refused(db, instance("order-1"))


@BOTH_DATABASES
def test_a_workspace_settles_through_one_live_instance_only(db):
    owner = guance_account()
    workspace = Workspace(name="prod", language="zh", style="ops", site="cn1", owner=owner)
    add_all(db, owner, workspace, instance("order-1", workspace))
    refused(db, instance("order-2", workspace))


@BOTH_DATABASES
def test_a_released_instance_frees_its_workspace(db):
    owner = guance_account()
    workspace = Workspace(name="prod", language="zh", style="ops", site="cn1", owner=owner)
    add_all(db, owner, workspace, instance("order-1", workspace, status="released"), instance("order-2", workspace))
    assert db.session.query(MarketplaceInstance).filter_by(workspace_id=workspace.id).count() == 2


@BOTH_DATABASES
def test_instance_status_is_one_of_the_documented_states(db):
    refused(db, instance("order-1", status="frozen"))


@BOTH_DATABASES
def test_timestamps_come_back_timezone_aware(db):
    moment = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    add_all(db, instance("order-1"))
    row = db.session.query(MarketplaceInstance).one()
    row.expires_at = moment
    db.session.commit()
    db.session.expire_all()
    assert db.session.query(MarketplaceInstance).one().expires_at == moment
