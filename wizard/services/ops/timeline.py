"""One instance's story in time order: SPI calls, 免登, the funnel's steps, bindings, emails, metering
pushes, webhooks and the lifecycle, merged from their own tables.

Each source is read with an indexed query on the instance (spi_call, email_notice, webhook_delivery
and funnel_event by instanceId; metering_hour by the instance's row id), from where the previous page
stopped: a page is the next PAGE_SIZE entries of all sources together, ordered by (time, source,
id). What has no table of its own (the binding of the Aliyun account, the lifecycle's moments: expiry,
renewal, release, the countdown, the lock, 解散, a switch of settlement) comes from the instance's
and its workspace's timestamps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import literal, select, tuple_

from ...db_types import Timestamp
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import CloudAccountBinding, EmailNotice, MarketplaceInstance, MeteringHour, SpiCall, Workspace
from ...ops_models import FunnelEvent, WebhookDelivery
from . import funnel

KINDS = {
    "spi": _l("SPI 调用"),
    "login_free": _l("免登"),
    "step": _l("开通步骤"),
    "binding": _l("绑定"),
    "email": _l("邮件"),
    "metering": _l("计量推送"),
    "webhook": _l("Webhook"),
    "lifecycle": _l("生命周期"),
}
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}
_CURSOR = re.compile(r"([0-9]{1,19})\.([a-z_]{1,16})\.([0-9]{1,19})")


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    key: int  # the row's id within its kind (a made-up one for lifecycle moments)
    title: object
    details: dict = field(default_factory=dict)
    status: str = ""  # "ok", "warn" or "error": the entry's colour

    @property
    def sort_key(self) -> tuple:
        return (self.at, _RANK[self.kind], self.key)


@dataclass(frozen=True)
class Position:
    at: datetime
    kind: str
    key: int

    def encode(self) -> str:
        return f"{int(self.at.timestamp() * 1_000_000)}.{self.kind}.{self.key}"

    @classmethod
    def decode(cls, text: str | None) -> Position | None:
        match = _CURSOR.fullmatch(text or "")
        if match is None or match.group(2) not in _RANK:
            return None
        try:
            at = datetime.fromtimestamp(int(match.group(1)) / 1_000_000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return cls(at, match.group(2), int(match.group(3)))


def _after(position: Position | None, kind: str, at_column, id_column):
    """Rows of `kind` that come after `position` in (time, kind, id) order."""
    if position is None:
        return None
    at = literal(position.at, Timestamp())
    if _RANK[kind] < _RANK[position.kind]:
        return at_column > at
    if _RANK[kind] > _RANK[position.kind]:
        return at_column >= at
    return tuple_(at_column, id_column) > tuple_(at, literal(position.key))


def _rows(statement, position, kind, at_column, id_column, size):
    condition = _after(position, kind, at_column, id_column)
    if condition is not None:
        statement = statement.where(condition)
    return db.session.scalars(statement.order_by(at_column, id_column).limit(size + 1)).all()


def _spi_entries(instance, position, size) -> list[Entry]:
    rows = []
    for kind in ("spi", "login_free"):
        action = SpiCall.action == "verify" if kind == "login_free" else SpiCall.action != "verify"
        statement = select(SpiCall).where(SpiCall.instance_id == instance.instance_id, action)
        for call in _rows(statement, position, kind, SpiCall.created_at, SpiCall.id, size):
            title = _l("免登") if kind == "login_free" else call.action
            rows.append(Entry(call.created_at, kind, call.id, title, {"outcome": call.outcome, "params": call.params},
                              "ok" if call.outcome == "ok" else "warn"))  # fmt: skip
    return rows


def _step_entries(instance, position, size) -> list[Entry]:
    statement = select(FunnelEvent).where(FunnelEvent.instance_id == instance.instance_id)
    return [
        Entry(
            event.reached_at,
            "step",
            event.id,
            funnel.BY_KEY[event.step].label if event.step in funnel.BY_KEY else event.step,
            {"seconds_on_previous": event.seconds_on_previous},
            "ok",
        )  # fmt: skip
        for event in _rows(statement, position, "step", FunnelEvent.reached_at, FunnelEvent.id, size)
    ]


def _email_entries(instance, position, size) -> list[Entry]:
    statement = select(EmailNotice).where(EmailNotice.instance_id == instance.instance_id)
    return [
        Entry(
            notice.created_at,
            "email",
            notice.id,
            notice.kind,
            {"recipient": notice.recipient, "delivery": notice.delivery, "delivered_at": notice.delivered_at},
            {"sent": "ok", "queued": "warn"}.get(notice.delivery, "error"),
        )  # fmt: skip
        for notice in _rows(statement, position, "email", EmailNotice.created_at, EmailNotice.id, size)
    ]


def _metering_entries(instance, position, size) -> list[Entry]:
    statement = select(MeteringHour).where(MeteringHour.instance_id == instance.id)
    return [
        Entry(
            hour.created_at,
            "metering",
            hour.id,
            hour.hour_start,
            {
                "status": hour.status,
                "entities": hour.entities,
                "attempts": hour.attempts,
                "pushed_at": hour.pushed_at,
                "error": hour.last_error,
            },
            {"pushed": "ok", "pending": "warn"}.get(hour.status, "error"),
        )  # fmt: skip
        for hour in _rows(statement, position, "metering", MeteringHour.created_at, MeteringHour.id, size)
    ]


def _webhook_entries(instance, position, size) -> list[Entry]:
    statement = select(WebhookDelivery).where(WebhookDelivery.instance_id == instance.instance_id)
    return [
        Entry(
            delivery.created_at,
            "webhook",
            delivery.id,
            delivery.event,
            {
                "endpoint": delivery.endpoint_id,
                "status": delivery.status,
                "attempts": delivery.attempts,
                "error": delivery.last_error,
            },
            {"delivered": "ok", "pending": "warn"}.get(delivery.status, "error"),
        )  # fmt: skip
        for delivery in _rows(statement, position, "webhook", WebhookDelivery.created_at, WebhookDelivery.id, size)
    ]


def _moments(instance: MarketplaceInstance) -> list[Entry]:
    """The binding and the lifecycle, from the rows' timestamps (each the latest of its kind)."""
    entries = []
    binding = db.session.scalar(select(CloudAccountBinding).filter_by(ali_uid=instance.ali_uid))
    if binding is not None:
        entries.append(Entry(binding.created_at, "binding", 1, _l("阿里云账号已绑定费用中心账号"),
                             {"billing_account": binding.billing_account.username}, "ok"))  # fmt: skip
    workspace = instance.workspace or instance.released_workspace
    if instance.bound_at is not None:
        entries.append(Entry(instance.bound_at, "binding", 2, _l("商品实例已绑定工作空间"),
                             {"workspace": workspace.name if workspace else None}, "ok"))  # fmt: skip
    marks = [
        (instance.expired_at, _l("实例已到期"), "warn"),
        (instance.renewed_at, _l("实例已续费"), "ok"),
        (instance.released_at, _l("实例已关闭"), "warn"),
        (instance.workspace_released_at, _l("实例已不再结算该工作空间"), "warn"),
    ]
    if workspace is not None and workspace.id in (instance.workspace_id, instance.released_workspace_id):
        marks += _workspace_marks(workspace)
    entries += [Entry(at, "lifecycle", index, title, {}, status)
                for index, (at, title, status) in enumerate(marks, start=1) if at is not None]  # fmt: skip
    return entries


def _workspace_marks(workspace: Workspace) -> list[tuple]:
    return [
        (workspace.countdown_started_at, _l("工作空间进入锁定倒计时"), "warn"),
        (workspace.locked_at, _l("工作空间已锁定，数据已删除"), "error"),
        (workspace.unlocked_at, _l("工作空间已解锁"), "ok"),
        (workspace.dissolved_at, _l("工作空间已解散"), "error"),
        (workspace.settlement_changed_at, _l("工作空间改为费用中心账号结算"), "warn"),
    ]


SOURCES = {
    "spi": _spi_entries,
    "step": _step_entries,
    "email": _email_entries,
    "metering": _metering_entries,
    "webhook": _webhook_entries,
}


@dataclass
class Timeline:
    entries: list[Entry]
    next_position: str | None


def timeline(instance: MarketplaceInstance, position: Position | None, size: int, kinds: set[str]) -> Timeline:
    """The next `size` entries after `position`, of the chosen kinds (all when empty), in time order."""
    wanted = kinds or set(KINDS)
    entries: list[Entry] = []
    for name, source in SOURCES.items():
        if name in wanted or (name == "spi" and "login_free" in wanted):
            entries += source(instance, position, size)
    entries += _moments(instance)
    start = (position.at, _RANK[position.kind], position.key) if position is not None else None
    entries = sorted(
        (entry for entry in entries if entry.kind in wanted and (start is None or entry.sort_key > start)),
        key=lambda entry: entry.sort_key,
    )
    page = entries[:size]
    following = len(entries) > size
    return Timeline(page, Position(page[-1].at, page[-1].kind, page[-1].key).encode() if following else None)
