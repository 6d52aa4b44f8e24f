"""Workspaces of a billing-center account, and binding a marketplace instance to one of them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import clock
from ..choices import DATAWAY_URLS, DEFAULT_SITE
from ..extensions import db, execute_dml, savepoint
from ..i18n import lazy_gettext as _l
from ..models import GuanceAccount, MarketplaceInstance, Workspace, WorkspaceMember
from ..statuses import InstanceStatus, WorkspaceStatus
from .accounts import NewAccount, add_guance_account, find_by_email
from .ops import events
from .refusals import Refused

NOT_BINDABLE = _l("该工作空间已通过其他阿里云商品实例结算，不能重复绑定")
ALREADY_BOUND = _l("该商品实例已绑定工作空间")


@dataclass(frozen=True)
class WorkspaceChoice:
    """One row of B2: a workspace and whether this instance may bind it."""

    workspace: Workspace
    state: str  # "bindable", "bound_here" or "taken"
    taken_by: MarketplaceInstance | None = None


def _live_instance_of(workspace: Workspace) -> MarketplaceInstance | None:
    return next((i for i in workspace.instances if i.state.live), None)


def workspace_choices(billing_account_id: int, instance: MarketplaceInstance) -> list[WorkspaceChoice]:
    # One query with the instances joined: on PostgreSQL each query is a round trip.
    workspaces = db.session.scalars(
        select(Workspace)
        .filter_by(billing_account_id=billing_account_id)
        .where(Workspace.status != WorkspaceStatus.DISSOLVED)
        .options(joinedload(Workspace.instances))
        .order_by(Workspace.created_at, Workspace.id)
    ).unique()
    choices = []
    for workspace in workspaces:
        holder = _live_instance_of(workspace)
        if holder is None:
            choices.append(WorkspaceChoice(workspace, "bindable"))
        elif holder.id == instance.id:
            choices.append(WorkspaceChoice(workspace, "bound_here", holder))
        else:
            choices.append(WorkspaceChoice(workspace, "taken", holder))
    return choices


def bind_instance(instance: MarketplaceInstance, workspace: Workspace) -> None:
    """Bind within the caller's transaction; the database decides races. Raises Refused."""
    try:
        bound = execute_dml(
            update(MarketplaceInstance)
            .where(
                MarketplaceInstance.id == instance.id,
                MarketplaceInstance.workspace_id.is_(None),
                MarketplaceInstance.status == InstanceStatus.ACTIVE,
            )
            .values(workspace_id=workspace.id, bound_at=clock.now())
        )
    except IntegrityError:  # the workspace already settles through another live instance
        raise Refused(NOT_BINDABLE) from None
    if bound.rowcount != 1:  # a second tab or a double submit got there first
        raise Refused(ALREADY_BOUND)
    events.instance_activated(instance)  # 开通成功: the funnel, webhooks


# Ids are 32-bit integers in the database: a larger number (from the URL) names no workspace, and
# PostgreSQL would refuse to even compare it ("integer out of range").
LARGEST_ID = 2**31 - 1


def bind_existing_workspace(instance: MarketplaceInstance, billing_account_id: int, workspace_id: int) -> Workspace:
    """B2 绑定: only a workspace of the customer's own billing-center account, free of live instances."""
    workspace = db.session.get(Workspace, workspace_id) if workspace_id <= LARGEST_ID else None
    if workspace is None or workspace.billing_account_id != billing_account_id or not workspace.state.exists:
        raise Refused(_l("找不到该工作空间"))
    with savepoint():  # a savepoint: a refusal leaves nothing behind in the caller's unit
        bind_instance(instance, workspace)
    return workspace


@dataclass(frozen=True)
class NewWorkspace:
    name: str
    language: str
    style: str
    site: str


def add_workspace(details: NewWorkspace, owner: GuanceAccount, billing_account_id: int | None) -> Workspace:
    """Add (not commit) a workspace owned by `owner`, settled by the billing-center account if given."""
    workspace = Workspace(
        name=details.name.strip(),
        language=details.language,
        style=details.style,
        site=details.site,
        owner=owner,
        billing_account_id=billing_account_id,
    )
    workspace.members.append(WorkspaceMember(account=owner, role="owner"))
    db.session.add(workspace)
    db.session.flush()
    return workspace


def workspaces_of(account: GuanceAccount) -> list[Workspace]:
    """The account's workspaces with what the console shows about them, in one query."""
    return list(
        db.session.scalars(
            select(Workspace)
            .join(WorkspaceMember)
            .where(WorkspaceMember.account_id == account.id)
            .options(joinedload(Workspace.instances), joinedload(Workspace.billing_account))
            .order_by(Workspace.created_at, Workspace.id)
        ).unique()
    )


DATAKIT_INSTALL = (
    'DK_DATAWAY="{dataway}?token={token}" bash -c "$(curl -L https://static.guance.com/datakit/install.sh)"'
)


def datakit_install_command(workspace: Workspace) -> str:
    """The Linux install command of DataKit for the workspace: its site's DataWay and its own token."""
    return DATAKIT_INSTALL.format(dataway=DATAWAY_URLS.get(workspace.site, DATAWAY_URLS[DEFAULT_SITE]),
                                  token=workspace.token)  # fmt: skip


def login_usernames(workspace: Workspace) -> list[str]:
    """The Guance accounts that can log in to the workspace: its owner first, then the other members."""
    members = sorted(workspace.members, key=lambda member: (member.account_id != workspace.owner_account_id,
                                                           member.account.username))  # fmt: skip
    return [member.account.username for member in members]


def settling_instance(workspace: Workspace) -> MarketplaceInstance | None:
    """The live marketplace instance through which the workspace settles, if any."""
    return _live_instance_of(workspace)


def create_for_existing_account(
    instance: MarketplaceInstance, billing_account_id: int, email: str, details: NewWorkspace
) -> Workspace:
    """B2b: the Guance account behind `email` (its code already checked) owns the new, bound workspace."""
    owner = find_by_email(details.site, email)
    if owner is None:
        raise Refused(_l("当前站点下没有使用该邮箱的观测云账号，请确认右上角的站点"), "email")
    return _create_and_bind(instance, details, owner, billing_account_id)


def create_with_new_account(
    instance: MarketplaceInstance, billing_account_id: int, new_account: NewAccount, details: NewWorkspace
) -> Workspace:
    """B2c: register the Guance account and create the bound workspace, all or nothing (a savepoint)."""
    with savepoint():  # a refused workspace leaves no account behind either
        owner = add_guance_account(new_account)  # AccountConflict: a Refused for the username or email field
        return _create_and_bind(instance, details, owner, billing_account_id)


def _create_and_bind(instance, details: NewWorkspace, owner: GuanceAccount, billing_account_id: int) -> Workspace:
    with savepoint():  # nothing half-made stays behind: no workspace, no binding
        workspace = add_workspace(details, owner, billing_account_id)
        bind_instance(instance, workspace)
    return workspace
