"""Fixed demo data of the Guance side, one record for every branch of the activation flow, and an
activated, Aliyun-settled workspace with a few days of metered usage.

The metered one matches the marketplace simulator's demo buyer D (its own seed, in its own package):
the same agreed IDs and the same agreed usage profile, nothing shared but those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from .. import clock
from ..choices import DEFAULT_SITE
from ..extensions import db
from ..models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    MeteringHour,
    UsageRecord,
    Workspace,
    WorkspaceMember,
)
from ..statuses import InstanceStatus

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
METERED_WORKSPACE = "计量演示"
DEMO_WORKSPACES = [
    ("demo_billing", "demo_owner", "生产环境监控", "zh", "ops"),
    ("demo_billing", "demo_owner", "Staging", "en", "dev"),
    ("demo_billing", "demo_owner", METERED_WORKSPACE, "zh", "ops"),
]

# Aliyun accounts already settled through demo_billing: 免登 leads straight to B2 (C), or to 开通成功 (D).
DEMO_CLOUD_BINDINGS = [("1380000000000003", "demo_billing"), ("1380000000000004", "demo_billing")]

# Buyer D's opened instance (the simulator numbers it 2/5 + aliUid + 000001) and its usage history.
METERED_ALI_UID = "1380000000000004"
METERED_ORDER_ID, METERED_INSTANCE_ID = "21380000000000004000001", "51380000000000004000001"
DEMO_HISTORY_DAYS = 3
HOUR = timedelta(hours=1)


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
    db.session.flush()
    _metered_instance(billing["demo_billing"])
    return DEMO_GUANCE_ACCOUNTS + DEMO_BILLING_ACCOUNTS


def demo_usage(hour_start: datetime) -> dict[str, int]:
    """The agreed demo usage profile of an hour, by usage entity."""
    index = int(hour_start.timestamp()) // 3600
    return {"data_points": 1_500_000 + index * 618_033 % 1_000_000, "api_calls": 200 + index * 104_729 % 800}


def history_start(now: datetime, timezone: str) -> datetime:
    """Midnight (in `timezone`) DEMO_HISTORY_DAYS before today: both parties' seeds agree on it."""
    midnight = now.astimezone(ZoneInfo(timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - timedelta(days=DEMO_HISTORY_DAYS)).astimezone(UTC)


def _metered_instance(billing: BillingAccount) -> None:
    """Buyer D's instance, bound to 计量演示, with usage up to the hour before last; made once.

    The marketplace billed these hours (its own seed): here they are sent with the answer unknown, so
    the pusher asks the marketplace (DescribePushMeteringData) and shows each as it was billed. The
    last closed hour is left to `flask usage simulate`, so the QA contract adds a line to the bill."""
    if db.session.scalar(select(MarketplaceInstance.id).filter_by(instance_id=METERED_INSTANCE_ID)) is not None:
        return
    now = clock.now()
    first = history_start(now, current_app.config["BABEL_DEFAULT_TIMEZONE"])
    workspace_id = db.session.scalar(
        select(Workspace.id).filter_by(billing_account_id=billing.id, name=METERED_WORKSPACE)
    )
    instance = MarketplaceInstance(
        instance_id=METERED_INSTANCE_ID, ali_uid=METERED_ALI_UID, order_id=METERED_ORDER_ID,
        product_code="cmgj00053362", sku_id="yuncode5336200001",
        expires_at=None, status=InstanceStatus.ACTIVE, workspace_id=workspace_id,  # pay-as-you-go: no term
        bound_at=first - timedelta(days=1),
    )  # fmt: skip
    db.session.add(instance)
    db.session.flush()
    last_closed = now.replace(minute=0, second=0, microsecond=0) - HOUR
    hour = first
    while hour < last_closed:
        _demo_hour(instance, hour)
        hour += HOUR


def _demo_hour(instance: MarketplaceInstance, hour: datetime) -> None:
    """An hour of the agreed profile, recorded and sent (its answer unknown: the pusher will ask)."""
    usage = demo_usage(hour)
    for entity, quantity in usage.items():
        db.session.add(
            UsageRecord(workspace_id=instance.workspace_id, hour_start=hour, entity=entity, quantity=quantity)
        )
    keys = current_app.config["METERING_KEYS"]
    db.session.add(MeteringHour(
        instance_id=instance.id, workspace_id=instance.workspace_id, hour_start=hour,
        entities={keys[entity]: quantity for entity, quantity in usage.items() if entity in keys}, status="pending",
        attempts=1, sent_at=hour + HOUR + timedelta(minutes=5), next_attempt_at=hour + 2 * HOUR,
    ))  # fmt: skip
