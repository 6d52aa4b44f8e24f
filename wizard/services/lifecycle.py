"""After activation: an expired instance's workspace counts down to its lock; unlock, 解散, release.

Rules (the numbers are settings, see wizard/config.py):
- An instance expires (expiredInstance, or its expiredOn passed: the periodic job, or 免登 noticing it)
  -> its workspace counts down LOCK_COUNTDOWN_DAYS to its lock. Members keep read access meanwhile;
  reminders go out LOCK_REMINDER_DAYS before the end.
- At the end (the periodic job) the workspace is 已锁定 and its data wiped: every member but the
  owner loses access (the owner keeps it to unlock or 解散). The row stays, with locked_at.
- It unlocks at once when its instance is renewed (renewInstance, reached from 立即解锁 -> 续费),
  when the billing-center account's owner switches it to 费用中心 settlement (立即解锁, with a code),
  or when the buyer closes the instance (releaseInstance: it falls back to 费用中心 settlement).
  Unlocked after the lock, it comes back empty: the wipe is not undone.
- 解散: its owner only, typing its name; final. Members removed, data wiped, the instance lets go of
  it; nothing else of the billing-center account changes.

Every function changes rows in the caller's transaction (the periodic jobs commit their own); the
emails are queued when it commits (notices.send_notice), to the owner and the billing-center
account, in the language the customer last used on the instance's pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import cast

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload

from .. import clock, tasks
from ..extensions import db, execute_dml, savepoint
from ..i18n import lazy_gettext as _l
from ..models import MarketplaceInstance, UsageRecord, UsedLink, Workspace, WorkspaceMember
from ..statuses import InstanceStatus, SettlementCause, WorkspaceStatus
from . import notices
from .ops import events
from .refusals import Refused
from .workspaces import settling_instance

DAY = timedelta(days=1)


def countdown_length() -> timedelta:
    return timedelta(days=current_app.config["LOCK_COUNTDOWN_DAYS"])


def days_left(workspace: Workspace, now: datetime | None = None) -> int:
    """Whole days until the lock, rounded up (the last day counts as 1); 0 once it is due."""
    if workspace.lock_due_at is None:
        return 0
    seconds = (workspace.lock_due_at - (now or clock.now())).total_seconds()
    return max(0, math.ceil(seconds / DAY.total_seconds()))


# ---- Emails ----


def _recipients(workspace: Workspace) -> list[str]:
    """The owner, and the billing-center account (it pays, and it can switch or renew)."""
    found = [workspace.owner.email]
    if workspace.billing_account is not None and workspace.billing_account.email.lower() != found[0].lower():
        found.append(workspace.billing_account.email)
    return found


def _language(workspace: Workspace, instance: MarketplaceInstance | None) -> str:
    languages = current_app.config["LANGUAGES"]
    for candidate in (instance.language if instance else None, workspace.language):
        if candidate is not None and candidate in languages:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _facts(workspace: Workspace, instance: MarketplaceInstance | None) -> dict:
    """What every lifecycle email states: the workspace, the Aliyun account ID, the 商品实例 ID."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return {
        "workspace": workspace.name,
        "ali_uid": instance.ali_uid if instance else "",
        "instance_id": instance.instance_id if instance else "",
        "billing_account": workspace.billing_account.username if workspace.billing_account else "",
        "login_url": f"{base}/login/pwd?site={workspace.site}",
        "marketplace_url": current_app.config["MARKETPLACE_CONSOLE_URL"],
    }


def notify(kind: str, workspace: Workspace, instance: MarketplaceInstance | None, language=None, **values) -> None:
    """Queue the `kind` email about the workspace (and the instance it concerns) for after the commit."""
    current_app.logger.info("workspace %s (instance %s): %s", workspace.id, instance and instance.instance_id, kind)
    language = language or _language(workspace, instance)
    for to in _recipients(workspace):
        notices.send_notice(kind, to, language, **_facts(workspace, instance), **values)


def remember_language(instance_id: str, language: str) -> None:
    """The customer acted on the instance's pages in `language`: its lifecycle emails follow."""
    # In the view's unit, which ends before the server-side session is saved (on SQLite even an UPDATE
    # that matched nothing holds the write lock until then).
    execute_dml(
        update(MarketplaceInstance)
        .where(MarketplaceInstance.instance_id == instance_id, MarketplaceInstance.language.is_distinct_from(language))
        .values(language=language)
        .execution_options(synchronize_session=False)
    )


# ---- Transitions, each applied once: a conditional UPDATE decides between racing requests ----


def _move(row, allowed: tuple, to, **values) -> bool:
    """Move `row` to status `to` (with `values`) if its status is still one of `allowed`; True when
    this call did it. The database decides between two requests racing for the same move."""
    model = type(row)
    moved = execute_dml(
        update(model).where(model.id == row.id, model.status.in_(allowed)).values(status=to, **values)
    ).rowcount
    if moved:
        db.session.refresh(row)
    return moved == 1


def expire(instance: MarketplaceInstance) -> bool:
    """The instance expired: its workspace starts counting down. False when it already had."""
    now = clock.now()
    if not _move(instance, (InstanceStatus.ACTIVE,), InstanceStatus.EXPIRED, expired_at=now):
        return False
    events.instance_expired(instance)
    workspace = instance.workspace
    if workspace is not None and workspace.state is WorkspaceStatus.ACTIVE:
        _start_countdown(workspace, instance, now)
    return True


def _start_countdown(workspace: Workspace, instance: MarketplaceInstance, now: datetime) -> None:
    due = now + countdown_length()
    if _move(workspace, (WorkspaceStatus.ACTIVE,), WorkspaceStatus.LOCKING,
             countdown_started_at=now, lock_due_at=due, reminded_days=None, locked_at=None):  # fmt: skip
        notify("countdown_started", workspace, instance, days=days_left(workspace, now), wipe_at=due)


def expire_if_overdue(instance: MarketplaceInstance | None) -> None:
    """An active instance whose expiredOn passed is expired, whether or not expiredInstance came."""
    if (
        instance is not None
        and instance.state is InstanceStatus.ACTIVE
        and instance.expires_at is not None
        and instance.expires_at <= clock.now()
    ):
        expire(instance)


def renew(instance: MarketplaceInstance, expires_at: datetime) -> None:
    """A renewal applied: the new expiry; an expired instance whose new term is running is active again."""
    now = clock.now()
    instance.expires_at, instance.renewed_at = expires_at, now
    if instance.state is InstanceStatus.EXPIRED and expires_at > now:
        instance.status, instance.expired_at = InstanceStatus.ACTIVE, None
        if instance.workspace is not None:
            unlock(instance.workspace, instance)


def unlock(workspace: Workspace, instance: MarketplaceInstance | None, email: bool = True, language=None) -> bool:
    """Back to active from the countdown or the lock (the wipe is not undone)."""
    locked = (WorkspaceStatus.LOCKING, WorkspaceStatus.LOCKED)
    if not _move(workspace, locked, WorkspaceStatus.ACTIVE,
                 unlocked_at=clock.now(), countdown_started_at=None, lock_due_at=None, reminded_days=None):  # fmt: skip
        return False
    if email:
        notify("unlocked", workspace, instance, language=language)
    return True


def release(instance: MarketplaceInstance) -> None:
    """关闭: the instance is released for good; its workspace falls back to 费用中心 settlement."""
    now = clock.now()
    if not _move(instance, (InstanceStatus.ACTIVE, InstanceStatus.EXPIRED), InstanceStatus.RELEASED, released_at=now):
        return
    events.instance_released(instance)
    workspace = instance.workspace
    if workspace is None or not workspace.state.exists:
        return
    workspace.settlement_changed_at, workspace.settlement_cause = now, SettlementCause.INSTANCE_RELEASED
    was_locked = workspace.state.awaiting_unlock
    unlock(workspace, instance, email=False)  # the release email says it
    notify("released", workspace, instance, released_at=now, was_locked=was_locked)


def _let_go(instance: MarketplaceInstance, workspace: Workspace, now: datetime) -> None:
    """The instance stops settling the workspace, and remembers which one it was."""
    instance.workspace_id, instance.released_workspace_id, instance.workspace_released_at = None, workspace.id, now


# ---- 立即解锁 -> 费用中心 settlement ----

NOT_LOCKED = _l("该工作空间没有处于锁定倒计时或锁定状态，无需解锁。")
NO_BILLING_ACCOUNT = _l("该工作空间没有关联费用中心账号，请通过续费解锁。")


def switch_to_billing_center(workspace: Workspace, language: str) -> None:
    """The billing-center account (its code already checked) settles the workspace from now: unlocked."""
    if not workspace.state.awaiting_unlock:
        raise Refused(NOT_LOCKED)
    if workspace.billing_account_id is None:
        raise Refused(NO_BILLING_ACCOUNT)
    now, instance = clock.now(), settling_instance(workspace)
    with savepoint():  # renewed or switched by another request meanwhile (already unlocked): nothing changes
        if instance is not None:
            _let_go(instance, workspace, now)
        workspace.settlement_changed_at, workspace.settlement_cause = now, SettlementCause.SWITCHED
        if not unlock(workspace, instance, language=language):
            raise Refused(NOT_LOCKED)


# ---- 解散 ----

OWNER_ONLY = _l("只有工作空间的所有者可以解散工作空间。")
NAME_MISMATCH = _l("输入的名称与工作空间名称不一致")
ALREADY_DISSOLVED = _l("该工作空间已经解散。")


def dissolve(workspace: Workspace, account_id: int, typed_name: str, language: str) -> None:
    """Delete the workspace for good: owner only, the name typed exactly. Raises Refused."""
    if workspace.owner_account_id != account_id:
        raise Refused(OWNER_ONLY)
    if (typed_name or "").strip() != workspace.name:
        raise Refused(NAME_MISMATCH, "name")
    now, instance = clock.now(), settling_instance(workspace)
    everything = (WorkspaceStatus.ACTIVE, WorkspaceStatus.LOCKING, WorkspaceStatus.LOCKED)
    if not _move(workspace, everything, WorkspaceStatus.DISSOLVED, dissolved_at=now):  # its first write
        raise Refused(ALREADY_DISSOLVED)
    if instance is not None:
        _let_go(instance, workspace, now)
    wipe_data(workspace, keep_owner=False)
    notify("dissolved", workspace, instance, language=language, dissolved_at=now)


def wipe_data(workspace: Workspace, keep_owner: bool) -> None:
    """Delete the workspace's data. In this product that is its usage records and its members' access;
    the owner keeps access to a locked workspace to unlock or 解散 it. What was billed stays on record
    (metering_hour holds what each pushed hour said, for reconciliation)."""
    usage = delete(UsageRecord).where(UsageRecord.workspace_id == workspace.id)
    db.session.execute(usage.execution_options(synchronize_session=False))
    members = delete(WorkspaceMember).where(WorkspaceMember.workspace_id == workspace.id)
    if keep_owner:
        members = members.where(WorkspaceMember.account_id != workspace.owner_account_id)
    db.session.execute(members.execution_options(synchronize_session=False))
    db.session.expire(workspace, ["members"])


# ---- Where a customer sees it ----


def needing_attention(account_id: int) -> list[Workspace]:
    """The account's workspaces counting down or locked, the soonest first: the console's banner."""
    return list(
        db.session.scalars(
            select(Workspace)
            .join(WorkspaceMember)
            .where(
                WorkspaceMember.account_id == account_id,
                Workspace.status.in_((WorkspaceStatus.LOCKING, WorkspaceStatus.LOCKED)),
            )
            .order_by(Workspace.locked_at.is_not(None), Workspace.lock_due_at, Workspace.id)
        )
    )


def membership(workspace_id: int, account_id: int) -> Workspace | None:
    """The workspace, if the account is one of its members (else None: not theirs to see)."""
    return db.session.scalar(
        select(Workspace)
        .join(WorkspaceMember)
        .where(Workspace.id == workspace_id, WorkspaceMember.account_id == account_id)
        .options(joinedload(Workspace.instances), joinedload(Workspace.billing_account))
    )


# ---- Periodic work: each function is safe to run at any time, as often as wanted ----


@dataclass(frozen=True)
class PeriodicRun:
    expired: int
    reminded: int
    locked: int
    links_pruned: int

    def __str__(self) -> str:
        return (
            f"{self.expired} instances expired by date, {self.reminded} reminders, {self.locked} workspaces locked, "
            f"{self.links_pruned} used unlock links pruned"
        )


def expire_overdue() -> int:
    """Active instances past their expiredOn (expiredInstance never came): expire them, each in its own unit."""
    overdue = db.session.scalars(
        select(MarketplaceInstance).where(
            MarketplaceInstance.status == InstanceStatus.ACTIVE, MarketplaceInstance.expires_at <= clock.now()
        )
    ).all()
    return tasks.one_unit_per_item(overdue, expire)


def send_reminders() -> int:
    """ "N days before the lock" emails, each once per countdown, for N in LOCK_REMINDER_DAYS; each in its own unit."""
    sent = 0
    for days in sorted(current_app.config["LOCK_REMINDER_DAYS"], reverse=True):
        sent += tasks.one_unit_per_item(_due_reminders(days), partial(_remind, days=days))
    return sent


def _due_reminders(days: int) -> list[Workspace]:
    now, ahead = clock.now(), timedelta(days=days)
    candidates = db.session.scalars(
        select(Workspace).where(
            Workspace.status == WorkspaceStatus.LOCKING,
            Workspace.lock_due_at <= now + ahead,
            Workspace.lock_due_at > now,
            (Workspace.reminded_days.is_(None)) | (Workspace.reminded_days > days),
        )
    )
    # A countdown shorter than N days gets no "N days before" email (it said so when it started).
    # LOCKING: _start_countdown set both of the countdown's times.
    return [
        found
        for found in candidates
        if cast(datetime, found.lock_due_at) - cast(datetime, found.countdown_started_at) >= ahead
    ]


def _remind(workspace: Workspace, days: int) -> int:
    claimed = execute_dml(
        update(Workspace)
        .where(
            Workspace.id == workspace.id,
            Workspace.status == WorkspaceStatus.LOCKING,
            (Workspace.reminded_days.is_(None)) | (Workspace.reminded_days > days),
        )
        .values(reminded_days=days)
    ).rowcount
    if claimed:
        notify("lock_reminder", workspace, settling_instance(workspace),
               days=days_left(workspace), wipe_at=workspace.lock_due_at)  # fmt: skip
    return claimed


def lock_due() -> int:
    """Countdowns that ended: lock the workspace and wipe its data, once; each in its own unit."""
    now = clock.now()
    due = db.session.scalars(
        select(Workspace).where(Workspace.status == WorkspaceStatus.LOCKING, Workspace.lock_due_at <= now)
    ).all()
    return tasks.one_unit_per_item(due, lambda workspace: _lock(workspace, now))


def _lock(workspace: Workspace, now: datetime) -> int:
    if not _move(workspace, (WorkspaceStatus.LOCKING,), WorkspaceStatus.LOCKED, locked_at=now):
        return 0
    wipe_data(workspace, keep_owner=True)
    notify("locked", workspace, settling_instance(workspace), locked_at=now)
    events.workspace_locked(workspace, settling_instance(workspace))
    return 1


def prune_used_links() -> int:
    removed = execute_dml(
        delete(UsedLink).where(UsedLink.expires_at < clock.now()).execution_options(synchronize_session=False)
    ).rowcount
    return removed


def run_periodic() -> PeriodicRun:
    """Everything time moves on: run it every few minutes (`flask lifecycle run`, or the task queue)."""
    return PeriodicRun(
        expired=expire_overdue(), reminded=send_reminders(), locked=lock_due(), links_pruned=prune_used_links()
    )
