from flask import redirect, url_for

from ... import flow
from ...extensions import savepoint
from ...flow import Activation
from ...forms import RegisterActivationForm, RegisterBasicForm, RegisterCompanyForm, show_refusal
from ...pages import PAGES, render_page, route
from ...services import registration as registrations
from ...services.accounts import ensure_free, normalize_email
from ...services.refusals import Refused
from ...services.workspaces import NewWorkspace
from ..codes import handle_send_code, redeem_code, send_limit
from . import bp


def basic_form(activation: Activation) -> RegisterBasicForm:
    """R1's form; back from R2 (or bounced by a conflict there) it shows the saved answers again."""
    draft = flow.current_draft(activation)
    form = RegisterBasicForm(obj=draft) if draft else RegisterBasicForm(site=flow.chosen_site())
    if draft and not form.is_submitted():
        is_free(form, "username", "email")
    return form


def is_free(form: RegisterBasicForm, *fields: str) -> bool:
    """None of `fields` (username, email) is used on the chosen site; else the error goes next to it."""
    try:
        ensure_free(form.site.data, form.username.data, form.email.data, fields)
    except Refused as refusal:
        show_refusal(form, refusal)
        return False
    return True


def save(form: RegisterBasicForm, activation: Activation) -> str:
    """R1's answers as a draft, once neither the username nor the email is taken (AccountConflict)."""
    ensure_free(form.site.data, form.username.data, form.email.data)
    return registrations.save_draft(activation.login.ali_uid, basic_info(form), flow.draft_id())


def keep_verified(form: RegisterBasicForm, draft) -> bool:
    """Back from R2 (上一步): no password typed keeps the draft's, and the email R1 verified needs no
    new code while it is unchanged. True when the email is that verified one."""
    if draft is None:
        return False
    if not form.password.data and not form.confirm.data:
        form.password.validators = form.confirm.validators = []
    verified = normalize_email(form.email.data or "") == draft.email
    if verified:
        form.code.validators = []
    return verified


def save_verified(form: RegisterBasicForm, activation: Activation, verified: bool) -> str:
    """The draft saved: with the email's code used up in the same transaction, or, for the address
    this R1 proved already (back from R2), without a new code."""
    if not verified:
        return redeem_code(form, "email", "register", lambda: save(form, activation))
    with savepoint():  # as redeem_code does: a refusal leaves nothing of the draft in the view's unit
        return save(form, activation)


def basic_info(form: RegisterBasicForm) -> registrations.BasicInfo:
    return registrations.BasicInfo(
        form.site.data, form.username.data, form.email.data, form.password.data, form.phone.data
    )


@route(bp, "R1")
@send_limit
def basic(activation: Activation):
    """R1 基本信息: saved as a draft once the email's code is right; R2 creates the account."""
    form, draft = basic_form(activation), flow.current_draft(activation)
    sending = handle_send_code(form, "email", "register")
    verified = not sending and keep_verified(form, draft)
    if not sending and form.validate_on_submit():
        # Only who proved the address learns whether the username or email is taken (the code first).
        try:
            draft_id = save_verified(form, activation, verified)
        except Refused as refusal:
            show_refusal(form, refusal)
        else:
            flow.remember_draft(draft_id)
            flow.choose_site(form.site.data)
            return redirect(url_for(PAGES["R2"].endpoint))
    form.code.data = ""  # typed again on purpose, like the passwords
    return render_page(activation=activation, form=form, draft=draft)


def company_info(form: RegisterCompanyForm) -> registrations.CompanyInfo:
    return registrations.CompanyInfo(
        form.company_name.data, form.industry.data, form.company_size.data, form.contact_name.data
    )


@route(bp, "R2")
def company(activation: Activation):
    """R2 企业信息: 注册 creates the Guance account and records it for this Aliyun account."""
    form = RegisterCompanyForm()
    if form.validate_on_submit():
        try:
            registrations.register_account(activation.login.ali_uid, flow.draft_id(), company_info(form))
        except Refused as refusal:  # R1 shows the saved answers, the field marked
            show_refusal(None, refusal)
            return redirect(url_for(PAGES["R1"].endpoint))
        flow.forget_draft()
        return redirect(url_for(PAGES["R3"].endpoint))
    return render_page(activation=activation, form=form, draft=flow.current_draft(activation))


def workspace_details(form: RegisterActivationForm, site: str) -> NewWorkspace:
    return NewWorkspace(form.workspace_name.data, form.workspace_language.data, form.workspace_style.data, site)


@route(bp, "R3")
def choose_method(activation: Activation):
    """R3 选择开通方式: 开通 activates in one transaction, then S1 (or, without billing, the notice)."""
    form = RegisterActivationForm()
    if form.validate_on_submit():
        try:
            return activate(activation, form)
        except Refused as refusal:
            show_refusal(form, refusal)
            if refusal.field is None:  # the flow moved on meanwhile (a second tab): the guard knows where
                return redirect(url_for(PAGES["R3"].endpoint))
    return render_page(activation=activation, form=form, account=activation.started_registration.account)


def activate(activation: Activation, form: RegisterActivationForm):
    registration, with_billing = activation.started_registration, form.create_billing_account.data
    details = workspace_details(form, registration.account.site)
    registrations.activate(activation.instance, registration, details, with_billing)
    return redirect(url_for(PAGES["S1" if with_billing else "R3-direct"].endpoint))


@route(bp, "R3-direct")
def finished(activation: Activation):
    """After R3 without a billing-center account: the workspace settles through Guance; B0 binds one."""
    registration = activation.started_registration
    return render_page(activation=activation, account=registration.account, workspace=registration.workspace)
