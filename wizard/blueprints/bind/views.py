from flask import flash, redirect, request, url_for

from ... import flow
from ...flow import Activation, Stage, wizard_page
from ...forms import BindBillingForm, BindWorkspaceForm, GuideForm, SiteForm, show_refusal
from ...i18n import gettext as _
from ...pages import page_url, render_page, route
from ...security import set_cookie
from ...services import billing
from ...services.refusals import Refused
from ...services.workspaces import bind_existing_workspace, workspace_choices
from ...templating import next_url
from ..codes import handle_send_code, redeem_code, send_limit
from . import bp

GUIDE_COOKIE = "bind_guide_seen"


def render_bind_page(activation: Activation, **context):
    """Every bind page shows the 站点 selector and, on a first visit (B0), the guide."""
    return render_page(
        activation=activation,
        site_form=SiteForm(site=flow.chosen_site()),
        guide_form=GuideForm(),
        # The first visit shows the guide (B0); 帮助 (partials/wizard_links.html) reopens it with ?guide=1.
        show_guide=request.cookies.get(GUIDE_COOKIE) != "1" or request.args.get("guide") == "1",
        **context,
    )


@route(bp, "B1")
@send_limit
def billing_account(activation: Activation):
    """B0/B1: the billing-center account's username and a code sent to its email."""
    form = BindBillingForm()
    if handle_send_code(form, "username", "bind_billing"):
        return render_bind_page(activation, form=form)
    if form.validate_on_submit():
        bind = lambda: billing.bind_by_username(activation.login.ali_uid, form.username.data)  # noqa: E731
        try:
            redeem_code(form, "username", "bind_billing", bind)
            return redirect(page_url("B2"))
        except Refused as refusal:
            show_refusal(form, refusal)
    return render_bind_page(activation, form=form)


@route(bp, "B2")
def workspaces(activation: Activation):
    """B2 (绑定 binds at once) and, once bound, B3 (已绑定 and the success message, then 确定 to S1)."""
    choices = workspace_choices(activation.bound_binding.billing_account_id, activation.instance)
    return render_bind_page(activation, choices=choices)


@bp.post("/bind/workspaces/<int:workspace_id>")
@wizard_page(Stage.BOUND)
def bind_workspace(activation: Activation, workspace_id: int):
    if BindWorkspaceForm().validate_on_submit():
        try:
            instance = activation.instance
            workspace = bind_existing_workspace(instance, activation.bound_binding.billing_account_id, workspace_id)
            flow.announce_binding(workspace.name, instance.instance_id)
        except Refused as refusal:
            show_refusal(None, refusal)
    return redirect(page_url("B2"))


@bp.post("/bind/site")
@wizard_page(Stage.UNBOUND, Stage.BOUND, Stage.ACTIVATED)
def site(activation: Activation):
    form = SiteForm()
    if activation.instance.workspace_id is not None:  # the site is the bound workspace's now
        flash(_("已选择工作空间，站点不能再更改。"), "info")
    elif form.validate_on_submit():
        flow.choose_site(form.site.data)
    return redirect(next_url(url_for(activation.entry_endpoint)))


@bp.post("/bind/guide")
def dismiss_guide():
    """知道了: the guide (B0) is for the first visit only."""
    response = redirect(next_url(page_url("B1")))
    if GuideForm().validate_on_submit():
        set_cookie(response, GUIDE_COOKIE, "1", max_age=365 * 24 * 3600)
    return response
