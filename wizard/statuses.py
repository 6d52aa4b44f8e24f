"""Where an instance and a workspace stand after activation, and what each state allows.

Stored as the enum's value (a plain string, with a CHECK constraint); compare with the enum, ask
the predicates rather than listing states at every use.
"""

from __future__ import annotations

import enum


class InstanceStatus(enum.StrEnum):
    ACTIVE = "active"  # 已开通
    EXPIRED = "expired"  # 已过期: its workspace counts down to the lock; a renewal makes it active again
    RELEASED = "released"  # 已关闭: final; the workspace fell back to 费用中心 settlement

    @property
    def live(self) -> bool:
        """Still holds its workspace's settlement (a released instance holds nothing)."""
        return self is not InstanceStatus.RELEASED

    @property
    def usable(self) -> bool:
        """The wizard and the console may act through it."""
        return self is InstanceStatus.ACTIVE


class WorkspaceStatus(enum.StrEnum):
    ACTIVE = "active"  # 正常
    LOCKING = "locking"  # 锁定倒计时: its instance expired; members keep read access
    LOCKED = "locked"  # 已锁定: the countdown ended; its data was wiped
    DISSOLVED = "dissolved"  # 已解散: deleted for good by its owner; the row stays as a record

    @property
    def active(self) -> bool:
        return self is WorkspaceStatus.ACTIVE

    @property
    def counting_down(self) -> bool:
        """锁定倒计时: read access only, 立即解锁 still saves its data."""
        return self is WorkspaceStatus.LOCKING

    @property
    def locked(self) -> bool:
        return self is WorkspaceStatus.LOCKED

    @property
    def readable(self) -> bool:
        """Members can still open it and read its history."""
        return self in (WorkspaceStatus.ACTIVE, WorkspaceStatus.LOCKING)

    @property
    def awaiting_unlock(self) -> bool:
        """立即解锁 applies: a renewal or 费用中心 settlement brings it back."""
        return self in (WorkspaceStatus.LOCKING, WorkspaceStatus.LOCKED)

    @property
    def exists(self) -> bool:
        return self is not WorkspaceStatus.DISSOLVED


class SettlementCause(enum.StrEnum):
    """Why a workspace left Aliyun settlement for 费用中心 settlement."""

    INSTANCE_RELEASED = "instance_released"  # the buyer closed the instance (releaseInstance)
    SWITCHED = "switched_to_billing_center"  # 立即解锁 -> 费用中心 settlement, confirmed by the account's code


def check_values(status: type[enum.StrEnum]) -> str:
    """The SQL list of a status's values, for a CHECK constraint."""
    return repr(tuple(member.value for member in status))
