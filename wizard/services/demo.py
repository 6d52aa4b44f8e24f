"""Fixed demo data of the Guance side, one record for every branch of the activation flow."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ..choices import DEFAULT_SITE
from ..extensions import db
from ..models import BillingAccount, CloudAccountBinding, GuanceAccount, Workspace, WorkspaceMember

DEMO_PASSWORD = "Guance-Demo-2026"


@dataclass(frozen=True)
class DemoLogin:
    kind: str
    username: str
    email: str
    password: str
    note: str


DEMO_GUANCE_ACCOUNTS = [
    DemoLogin(
        "Guance account",
        "demo_owner",
        "owner@demo.guance.example",
        DEMO_PASSWORD,
        "owns the two workspaces of demo_billing",
    ),
    DemoLogin(
        "Guance account",
        "demo_solo",
        "solo@demo.guance.example",
        DEMO_PASSWORD,
        "has no workspace yet (B2b: create one with an existing account)",
    ),
]
DEMO_BILLING_ACCOUNTS = [
    DemoLogin(
        "billing-center account",
        "demo_billing",
        "billing@demo.guance.example",
        DEMO_PASSWORD,
        "two workspaces to bind (B2)",
    ),
    DemoLogin(
        "billing-center account",
        "demo_billing_empty",
        "empty@demo.guance.example",
        DEMO_PASSWORD,
        "no workspace (B2: 立即创建工作空间)",
    ),
]
DEMO_WORKSPACES = [
    ("demo_billing", "demo_owner", "生产环境监控", "zh", "ops"),
    ("demo_billing", "demo_owner", "Staging", "en", "dev"),
]

# An Aliyun account already settled through demo_billing: 免登 leads straight to B2.
DEMO_CLOUD_BINDINGS = [("1380000000000003", "demo_billing")]


def _guance_account(login: DemoLogin) -> GuanceAccount:
    account = db.session.scalar(select(GuanceAccount).filter_by(site=DEFAULT_SITE, username=login.username))
    if account is None:
        account = GuanceAccount(
            site=DEFAULT_SITE,
            username=login.username,
            email=login.email,
            password_hash=generate_password_hash(login.password),
            company_name="观测云演示公司",
        )
        db.session.add(account)
    return account


def _billing_account(login: DemoLogin) -> BillingAccount:
    account = db.session.scalar(select(BillingAccount).filter_by(username=login.username))
    if account is None:
        account = BillingAccount(
            username=login.username, email=login.email, password_hash=generate_password_hash(login.password)
        )
        db.session.add(account)
    return account


def _workspace(billing: BillingAccount, owner: GuanceAccount, name: str, language: str, style: str) -> None:
    db.session.flush()
    exists = db.session.scalar(select(Workspace.id).filter_by(billing_account_id=billing.id, name=name))
    if exists is None:
        workspace = Workspace(
            name=name, language=language, style=style, site=DEFAULT_SITE, owner=owner, billing_account=billing
        )
        workspace.members.append(WorkspaceMember(account=owner, role="owner"))
        db.session.add(workspace)


def _cloud_binding(ali_uid: str, billing: BillingAccount) -> None:
    if db.session.scalar(select(CloudAccountBinding.id).filter_by(ali_uid=ali_uid)) is None:
        db.session.add(CloudAccountBinding(ali_uid=ali_uid, billing_account=billing))


def seed_guance() -> list[DemoLogin]:
    """Create what is missing and leave the rest alone, so running it twice changes nothing."""
    accounts = {login.username: _guance_account(login) for login in DEMO_GUANCE_ACCOUNTS}
    billing = {login.username: _billing_account(login) for login in DEMO_BILLING_ACCOUNTS}
    for billing_name, owner_name, name, language, style in DEMO_WORKSPACES:
        _workspace(billing[billing_name], accounts[owner_name], name, language, style)
    for ali_uid, billing_name in DEMO_CLOUD_BINDINGS:
        _cloud_binding(ali_uid, billing[billing_name])
    db.session.commit()
    return DEMO_GUANCE_ACCOUNTS + DEMO_BILLING_ACCOUNTS
