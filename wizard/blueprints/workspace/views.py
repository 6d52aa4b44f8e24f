from flask import redirect, request
from flask_wtf import FlaskForm

from ... import flow
from ...flow import Activation
from ...forms import ExistingAccountWorkspaceForm, NewAccountWorkspaceForm, show_refusal
from ...pages import page_url, render_page, route
from ...services import workspaces
from ...services.accounts import NewAccount
from ...services.refusals import Refused
from ..codes import handle_send_code, redeem_code, send_limit
from . import bp

# The two tabs of B2a: which form, which code purpose, and how the workspace comes to be.
TABS: dict[str, tuple[type[FlaskForm], str]] = {
    "existing": (ExistingAccountWorkspaceForm, "create_workspace"),
    "register": (NewAccountWorkspaceForm, "register_workspace"),
}


def workspace_details(form) -> workspaces.NewWorkspace:
    style = form.style.data if "style" in form else "default"
    return workspaces.NewWorkspace(form.name.data, form.language.data, style, flow.chosen_site())


def create(tab: str, form, activation: Activation):
    instance, billing_account_id = activation.instance, activation.bound_binding.billing_account_id
    if tab == "existing":
        return workspaces.create_for_existing_account(
            instance, billing_account_id, form.email.data, workspace_details(form)
        )
    account = NewAccount(flow.chosen_site(), form.username.data, form.email.data, form.password.data, form.phone.data)
    return workspaces.create_with_new_account(instance, billing_account_id, account, workspace_details(form))


@route(bp, "B2a")
@send_limit
def new(activation: Activation):
    """B2a 创建工作空间, with its two tabs: B2b 有观测云账号, B2c 没有观测云账号."""
    tab = request.args.get("tab", "existing")
    if tab not in TABS:
        tab = "existing"
    form_class, purpose = TABS[tab]
    form = form_class()
    sending = handle_send_code(form, "email", purpose)
    if not sending and form.validate_on_submit():
        try:
            workspace = redeem_code(form, "email", purpose, lambda: create(tab, form, activation))
            flow.announce_binding(workspace.name, activation.instance.instance_id)
            return redirect(page_url("B2"))
        except Refused as refusal:
            show_refusal(form, refusal, default_field="name")
    return render_page(activation=activation, form=form, tab=tab, site=flow.chosen_site())
