"""The queries behind the operators' console: every list is one indexed query, one page at a time.

Instances are searched by one field or all of them (aliUid, instanceId, the start of a workspace's
name, a billing-center username); "all" is a UNION of the four index lookups, never an OR across
joined tables (which no index serves). Every list pages with keyset pagination (paging.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, literal, select, union

from ... import clock
from ...db_types import Timestamp
from ...extensions import db
from ...models import (
    BillingAccount,
    CloudAccountBinding,
    FailedTask,
    MarketplaceInstance,
    MeteringHour,
    SpiCall,
    Workspace,
)
from ...ops_models import ActivationProgress, Operator, OperatorAudit
from ...statuses import InstanceStatus
from .paging import Cursor, Page, newest_first

SEARCH_FIELDS = ("any", "ali_uid", "instance_id", "workspace", "billing")
STATUS_FILTERS = ("", "waiting", "activated", "expired", "released")
_LIKE_ESCAPE = re.compile(r"([\\%_])")


@dataclass(frozen=True)
class InstanceQuery:
    field: str = "any"
    text: str = ""
    status: str = ""

    @classmethod
    def parse(cls, args) -> InstanceQuery:
        field = args.get("field", "any")
        status = args.get("status", "")
        return cls(
            field if field in SEARCH_FIELDS else "any",
            (args.get("q") or "").strip()[:64],
            status if status in STATUS_FILTERS else "",
        )


def _by_ali_uid(text: str) -> list:
    return [select(MarketplaceInstance.id).where(MarketplaceInstance.ali_uid == text)]


def _by_instance_id(text: str) -> list:
    return [select(MarketplaceInstance.id).where(MarketplaceInstance.instance_id == text)]


def _by_workspace(text: str) -> list:
    prefix = _LIKE_ESCAPE.sub(r"\\\1", text) + "%"
    return [
        select(MarketplaceInstance.id)
        .join(Workspace, Workspace.id == MarketplaceInstance.workspace_id)
        .where(Workspace.name.like(prefix, escape="\\"))
    ]


def _by_billing(text: str) -> list:
    settled = (
        select(MarketplaceInstance.id)
        .join(Workspace, Workspace.id == MarketplaceInstance.workspace_id)
        .join(BillingAccount, BillingAccount.id == Workspace.billing_account_id)
        .where(BillingAccount.username == text.lower())
    )
    bound = (
        select(MarketplaceInstance.id)
        .join(CloudAccountBinding, CloudAccountBinding.ali_uid == MarketplaceInstance.ali_uid)
        .join(BillingAccount, BillingAccount.id == CloudAccountBinding.billing_account_id)
        .where(BillingAccount.username == text.lower())
    )
    return [settled, bound]


_SEARCHES = {"ali_uid": _by_ali_uid, "instance_id": _by_instance_id, "workspace": _by_workspace, "billing": _by_billing}


def _matching_ids(query: InstanceQuery):
    """One flat UNION of index lookups (SQLite allows no parenthesised UNION inside another)."""
    searches = [_SEARCHES[query.field]] if query.field != "any" else list(_SEARCHES.values())
    lookups = [lookup for search in searches for lookup in search(query.text)]
    return union(*lookups) if len(lookups) > 1 else lookups[0]


def _status_condition(status: str):
    return {
        "waiting": and_(
            MarketplaceInstance.status == InstanceStatus.ACTIVE, MarketplaceInstance.workspace_id.is_(None)
        ),
        "activated": and_(
            MarketplaceInstance.status == InstanceStatus.ACTIVE, MarketplaceInstance.workspace_id.is_not(None)
        ),
        "expired": MarketplaceInstance.status == InstanceStatus.EXPIRED,
        "released": MarketplaceInstance.status == InstanceStatus.RELEASED,
    }.get(status)


@dataclass(frozen=True)
class InstanceRow:
    instance: MarketplaceInstance
    workspace: str | None
    billing_account: str | None
    step: str | None


def instances(query: InstanceQuery, cursor: Cursor | None, size: int) -> Page:
    """Instances, newest first, matching the search and the status."""
    statement = select(MarketplaceInstance.id, MarketplaceInstance.created_at)
    if query.text:
        statement = statement.where(MarketplaceInstance.id.in_(_matching_ids(query)))
    condition = _status_condition(query.status)
    if condition is not None:
        statement = statement.where(condition)
    page = newest_first(statement, MarketplaceInstance.created_at, MarketplaceInstance.id, cursor, size)
    page.rows = _instance_rows([row.id for row in page.rows])
    return page


def _instance_rows(ids: list[int]) -> list[InstanceRow]:
    if not ids:
        return []
    rows = db.session.execute(
        select(MarketplaceInstance, Workspace.name, BillingAccount.username, ActivationProgress.step)
        .outerjoin(Workspace, Workspace.id == MarketplaceInstance.workspace_id)
        .outerjoin(BillingAccount, BillingAccount.id == Workspace.billing_account_id)
        .outerjoin(ActivationProgress, ActivationProgress.instance_id == MarketplaceInstance.instance_id)
        .where(MarketplaceInstance.id.in_(ids))
    ).all()
    order = {id_: index for index, id_ in enumerate(ids)}
    return sorted((InstanceRow(*row) for row in rows), key=lambda row: order[row.instance.id])


@dataclass(frozen=True)
class InstanceSummary:
    instance: MarketplaceInstance
    workspace: Workspace | None
    billing_account: BillingAccount | None
    binding: CloudAccountBinding | None
    progress: ActivationProgress | None


def instance_summary(instance_id: str) -> InstanceSummary | None:
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id[:64]))
    if instance is None:
        return None
    workspace = instance.workspace or instance.released_workspace
    binding = db.session.scalar(select(CloudAccountBinding).filter_by(ali_uid=instance.ali_uid))
    billing = workspace.billing_account if workspace else (binding.billing_account if binding else None)
    return InstanceSummary(instance, workspace, billing, binding, db.session.get(ActivationProgress, instance_id))


# ---- The SPI audit log ----


@dataclass(frozen=True)
class SpiQuery:
    action: str = ""
    outcome: str = ""
    start: datetime | None = None
    end: datetime | None = None
    instance_id: str = ""


def spi_calls(query: SpiQuery, cursor: Cursor | None, size: int) -> Page:
    statement = select(SpiCall.id, SpiCall.created_at, SpiCall.action, SpiCall.outcome, SpiCall.params)
    if query.action:
        statement = statement.where(SpiCall.action == query.action)
    if query.outcome:
        statement = statement.where(SpiCall.outcome == query.outcome)
    if query.instance_id:
        statement = statement.where(SpiCall.instance_id == query.instance_id)
    statement = _within(statement, SpiCall.created_at, query.start, query.end)
    return newest_first(statement, SpiCall.created_at, SpiCall.id, cursor, size)


def _within(statement, column, start: datetime | None, end: datetime | None):
    if start is not None:
        statement = statement.where(column >= literal(start, Timestamp()))
    if end is not None:
        statement = statement.where(column < literal(end, Timestamp()))
    return statement


# ---- Stuck activations ----


def stuck_activations(step: str, cursor: Cursor | None, size: int, idle: timedelta) -> Page:
    """Instances not activated, still active, whose latest step was reached more than `idle` ago."""
    statement = (
        select(ActivationProgress, MarketplaceInstance)
        .join(MarketplaceInstance, MarketplaceInstance.instance_id == ActivationProgress.instance_id)
        .where(
            ActivationProgress.activated_at.is_(None),
            ActivationProgress.reached_at < literal(clock.now() - idle, Timestamp()),
            MarketplaceInstance.status == InstanceStatus.ACTIVE,
            MarketplaceInstance.workspace_id.is_(None),
        )
    )
    if step:
        statement = statement.where(ActivationProgress.step == step)
    return newest_first(
        statement,
        ActivationProgress.reached_at,
        ActivationProgress.instance_id,
        cursor,
        size,
        key_of=lambda row: (row.ActivationProgress.reached_at, row.ActivationProgress.instance_id),
    )


# ---- Failures with a retry button ----


def metering_failures(cursor: Cursor | None, size: int) -> Page:
    statement = (
        select(MeteringHour, MarketplaceInstance.instance_id, Workspace.name)
        .join(MarketplaceInstance, MarketplaceInstance.id == MeteringHour.instance_id)
        .join(Workspace, Workspace.id == MeteringHour.workspace_id)
        .where(MeteringHour.status == "failed")
    )
    return newest_first(
        statement,
        MeteringHour.hour_start,
        MeteringHour.id,
        cursor,
        size,
        key_of=lambda row: (row.MeteringHour.hour_start, row.MeteringHour.id),
    )


def failed_tasks(cursor: Cursor | None, size: int) -> Page:
    statement = select(FailedTask).where(FailedTask.status == "failed")
    return newest_first(
        statement,
        FailedTask.last_failed_at,
        FailedTask.id,
        cursor,
        size,
        key_of=lambda row: (row.FailedTask.last_failed_at, row.FailedTask.id),
    )


# ---- What operators did ----


@dataclass(frozen=True)
class AuditQuery:
    username: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""


def audit_log(query: AuditQuery, cursor: Cursor | None, size: int) -> Page:
    statement = select(OperatorAudit)
    if query.username:
        operator_id = db.session.scalar(select(Operator.id).filter_by(username=query.username.lower()))
        statement = statement.where(OperatorAudit.operator_id == (operator_id or -1))
    if query.action:
        statement = statement.where(OperatorAudit.action == query.action)
    if query.target_type and query.target_id:
        statement = statement.where(
            OperatorAudit.target_type == query.target_type, OperatorAudit.target_id == query.target_id
        )
    return newest_first(
        statement,
        OperatorAudit.created_at,
        OperatorAudit.id,
        cursor,
        size,
        key_of=lambda row: (row.OperatorAudit.created_at, row.OperatorAudit.id),
    )
