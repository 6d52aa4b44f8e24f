from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user

from ... import clock
from ...forms import DissolveWorkspaceForm, show_refusal
from ...i18n import gettext as _
from ...i18n import page_language
from ...models import Workspace
from ...pages import PAGES, render_page, route
from ...services import lifecycle, usage, workspaces
from ...services.refusals import Refused
from ...services.workspaces import LARGEST_ID
from ..lifecycle.views import lock_context
from . import bp

HOME = PAGES["console"].endpoint


@route(bp, "console")
def home():
    """The first landing page: the account's workspaces, their edition and settlement."""
    return render_page(
        workspaces=workspaces.workspaces_of(current_user),
        settling_instance=workspaces.settling_instance,
        usage_of=_usage_of,
    )


def _usage_of(workspace) -> usage.MonthUsage | None:
    return usage.settled_usage(workspace, clock.now(), current_app.config["BABEL_DEFAULT_TIMEZONE"])


@route(bp, "U1")
def usage_month(workspace_id: int):
    """U1 in full: every hour of this month, for a member of an Aliyun-settled workspace."""
    workspace = usage.member_workspace(current_user.id, workspace_id)
    month = _usage_of(workspace) if workspace is not None else None
    if month is None:
        abort(404)
    return render_page(workspace=workspace, usage=month)


@route(bp, "datakit")
def datakit():
    """从安装 DataKit 开始: the install command of each workspace the account is a member of, with its token."""
    usable = [workspace for workspace in workspaces.workspaces_of(current_user) if workspace.status != "locked"]
    return render_page(workspaces=usable, install_command=workspaces.datakit_install_command)


def member_workspace(workspace_id: int) -> Workspace:
    """The workspace, if the signed-in account is a member; 404 otherwise (not theirs to know of)."""
    found = lifecycle.membership(workspace_id, current_user.id) if workspace_id <= LARGEST_ID else None
    if found is None:
        abort(404)
    return found


@route(bp, "X1-console")
def workspace_lock(workspace_id: int):
    """A member's view of a workspace counting down or locked."""
    workspace = member_workspace(workspace_id)
    if not workspace.state.awaiting_unlock:
        return redirect(url_for(HOME))
    return render_page(**lock_context(workspace, lifecycle.settling_instance(workspace), console=True))


@route(bp, "X2")
def dissolve(workspace_id: int):
    """The owner types the workspace's name; anyone else is told only the owner can."""
    workspace = member_workspace(workspace_id)
    if workspace.owner_account_id != current_user.id:
        return render_page(workspace=workspace, form=None), 403
    form = DissolveWorkspaceForm()
    if form.validate_on_submit():
        try:
            lifecycle.dissolve(workspace, current_user.id, form.name.data, page_language())
            flash(_("工作空间「%(name)s」已解散。", name=workspace.name), "success")
            return redirect(url_for(HOME))
        except Refused as refusal:
            show_refusal(form, refusal, default_field="name")
    return render_page(workspace=workspace, form=form)
