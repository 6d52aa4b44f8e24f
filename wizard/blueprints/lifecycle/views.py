from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user

from ... import clock, flow
from ...extensions import db
from ...forms import SettleBillingForm, show_refusal
from ...i18n import gettext as _
from ...i18n import page_language
from ...models import MarketplaceInstance, Workspace
from ...pages import render_page, route
from ...services import lifecycle, unlock_links
from ...services.refusals import Refused
from ..codes import handle_send_code, redeem_code, send_limit
from . import bp

UNLOCK_GRANT_KEY = "unlock_grant"


# ---- X1: the lock page and the console's banner ----


def renew_url(instance: MarketplaceInstance | None) -> str | None:
    """已购买的服务 in the marketplace, pointing at the instance to renew (续费)."""
    if instance is None or not instance.state.live:
        return None
    parts = urlsplit(current_app.config["MARKETPLACE_CONSOLE_URL"])
    query = "&".join(filter(None, [parts.query, urlencode({"instanceId": instance.instance_id})]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@bp.app_template_global()
def unlock_link(workspace: Workspace) -> str:
    """立即解锁: a fresh signed, single-use link to the workspace's unlock choices."""
    return url_for("lifecycle.redeem", token=unlock_links.issue(workspace.id))


def lock_context(workspace: Workspace | None, instance: MarketplaceInstance | None, console: bool) -> dict:
    """What the lock page (X1) shows, from 免登 or from the console."""
    days_left = lifecycle.days_left(workspace) if workspace else 0
    return {"workspace": workspace, "instance": instance, "console": console, "days_left": days_left}


@route(bp, "X1")
def instance_lock():
    """免登 on an expired instance lands here: its workspace's countdown, 立即解锁, 解散."""
    login = flow.current_login()
    activation = flow.load_activation(login) if login else None
    if activation is None:
        return flow.login_required_page()
    lifecycle.expire_if_overdue(activation.instance)
    if activation.instance.state.usable:
        return redirect(url_for(activation.entry_endpoint))
    return render_page(**lock_context(activation.instance.workspace, activation.instance, console=False))


@bp.app_template_global()
def lock_attention() -> list[Workspace]:
    """The console banner's workspaces: the signed-in account's, counting down or locked."""
    return lifecycle.needing_attention(current_user.id) if current_user.is_authenticated else []


bp.add_app_template_global(lifecycle.days_left, "lock_days_left")


# ---- X3: 立即解锁, through the signed single-use link ----


@bp.get("/unlock/<token>")
def redeem(token: str):
    """Open the link once: this browser may then use the unlock choices for the link's lifetime."""
    try:
        workspace_id = unlock_links.redeem(token)
    except unlock_links.LinkRefused as refusal:
        return render_template("lifecycle/link_refused.html", message=refusal.message), 400
    until = clock.now() + unlock_links.ttl()
    session[UNLOCK_GRANT_KEY] = {"workspace": workspace_id, "until": int(until.timestamp())}
    return redirect(url_for(".unlock"))


def granted_workspace() -> Workspace | None:
    grant = session.get(UNLOCK_GRANT_KEY)
    if not isinstance(grant, dict) or grant.get("until", 0) <= clock.now().timestamp():
        return None
    return db.session.get(Workspace, grant.get("workspace"))


@route(bp, "X3")
@send_limit
def unlock():
    """X3: 续费 in the marketplace, or 费用中心 settlement confirmed by the billing-center account's code."""
    workspace = granted_workspace()
    if workspace is None:
        return render_template("lifecycle/link_refused.html", message=None), 403  # not X3: no grant
    form = SettleBillingForm()
    form.username.data = workspace.billing_account.username if workspace.billing_account else ""
    if switched(form, workspace):
        flash(_("工作空间已解锁，改由费用中心账号结算。"), "success")
        return redirect(url_for(".unlock"))
    instance = lifecycle.settling_instance(workspace)
    return render_page(workspace=workspace, instance=instance, form=form, renew_url=renew_url(instance))


def switched(form: SettleBillingForm, workspace: Workspace) -> bool:
    """The switch to 费用中心 settlement, when asked for with a right code; errors go to the form."""
    if not workspace.state.awaiting_unlock or workspace.billing_account is None:
        return False
    if handle_send_code(form, "username", "settle_billing"):
        return False
    if not form.validate_on_submit():
        return False
    switch = lambda: lifecycle.switch_to_billing_center(workspace, page_language())  # noqa: E731
    try:
        redeem_code(form, "username", "settle_billing", switch)
    except Refused as refusal:
        show_refusal(form, refusal, default_field="code")
        return False
    return True
