"""Test data of the Guance side, from factories (factory_boy) on the application's own `db.session`.

One definition of each arranged row, for tests/, tests/hardening/, e2e/ (its live server's
database) and bench/ (its seed): call them inside an application context. Accounts get a real
password hash that is quick to check (PBKDF2, 1000 rounds): arranging thousands must not take
minutes, and nothing here touches how the product hashes the passwords it is given (scrypt).

    billing = billing_account_with_workspaces("acme_billing", workspaces=("生产环境", "测试环境"))
    account = GuanceAccountFactory(username="solo")
"""

from __future__ import annotations

from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from wizard import clock
from wizard.extensions import db
from wizard.models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    Workspace,
    WorkspaceMember,
)

from .alibaba import PRODUCT_CODE, SKU_ID

PASSWORD = "Acme-Owner-Lantern-42"  # every arranged account's password
QUICK_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
SITE = "cn1"
DOMAIN = "acme.example"


class Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731  (the application's, looked up per call)
        sqlalchemy_session_persistence = "commit"  # pages read it from their own connection


class GuanceAccountFactory(Factory):
    class Meta:
        model = GuanceAccount

    site = SITE
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda account: f"{account.username}@{DOMAIN}")
    password_hash = QUICK_HASH


class BillingAccountFactory(Factory):
    class Meta:
        model = BillingAccount

    username = factory.Sequence(lambda n: f"billing{n}")
    email = factory.LazyAttribute(lambda billing: f"{billing.username}@{DOMAIN}")
    password_hash = QUICK_HASH


class WorkspaceFactory(Factory):
    """A workspace with its owner as its member (the rule every workspace keeps)."""

    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"工作空间{n}")
    language = "zh"
    style = "ops"
    owner = factory.SubFactory(GuanceAccountFactory)
    site = factory.SelfAttribute("owner.site")
    billing_account = None
    members = factory.LazyAttribute(lambda workspace: [WorkspaceMember(account=workspace.owner, role="owner")])


class CloudAccountBindingFactory(Factory):
    """An Aliyun account bound to a billing-center account (as if B1 had been done)."""

    class Meta:
        model = CloudAccountBinding

    ali_uid = factory.Sequence(lambda n: f"139{n:013d}")
    billing_account = factory.SubFactory(BillingAccountFactory)


class MarketplaceInstanceFactory(Factory):
    """An instance as createInstance records it: live for a year, bound to nothing."""

    class Meta:
        model = MarketplaceInstance

    instance_id = factory.Sequence(lambda n: f"arranged{n:06d}")
    ali_uid = factory.Sequence(lambda n: f"139{n:013d}")
    order_id = factory.LazyAttribute(lambda instance: f"order-{instance.instance_id}")
    product_code = PRODUCT_CODE
    sku_id = SKU_ID
    trial = False
    expires_at = factory.LazyFunction(lambda: clock.now() + timedelta(days=365))
    workspace = None


def billing_account_with_workspaces(
    username: str | None = None,
    email: str | None = None,
    workspaces=("生产环境", "测试环境"),
    owner: str | GuanceAccount | None = None,
    site: str = SITE,
    commit: bool = True,
) -> BillingAccount:
    """A billing-center account with `workspaces` (names), all owned by one Guance account on `site`:
    `owner` (an account, or a username: the account of that name on the site, made when missing).
    With `commit=False` nothing is written: the rows are added to the session (bulk seeding)."""
    billing = BillingAccountFactory.build(**_named(username, email))
    account = owner if isinstance(owner, GuanceAccount) else _owner(owner or f"{billing.username}_owner", site)
    built = [WorkspaceFactory.build(name=name, owner=account, billing_account=billing) for name in workspaces]
    db.session.add_all([billing, account, *built])
    if commit:
        db.session.commit()
    return billing


def _named(username: str | None, email: str | None) -> dict:
    return {key: value for key, value in (("username", username), ("email", email)) if value is not None}


def _owner(username: str, site: str) -> GuanceAccount:
    existing = db.session.scalar(select(GuanceAccount).filter_by(site=site, username=username))
    return existing or GuanceAccountFactory.build(site=site, username=username)
