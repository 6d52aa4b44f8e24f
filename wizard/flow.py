"""The wizard's steps, their order and their guards: the one place that knows the flow.

The session is only a cursor: it carries the signed marketplace login (and, later, ids of what
was verified); every page asks this module where the user really is, from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from . import form_state, sessions
from .choices import DEFAULT_SITE, SITES
from .extensions import db
from .i18n import gettext as _
from .i18n import lazy_gettext as _l
from .i18n import page_language
from .models import CloudAccountBinding, MarketplaceInstance, MarketplaceRegistration, RegistrationDraft, Workspace
from .pages import PAGES, RegisterStep, Stage
from .services import lifecycle
from .services import registration as registrations
from .services.ops import events
from .services.sso import PENDING_LOGIN_SALT, MarketplaceLogin, issue_marketplace_login, read_marketplace_login

MARKETPLACE_LOGIN_KEY = "market_login"
PENDING_LOGIN_KEY = "pending_market_login"
SITE_KEY = "site"
REGISTRATION_DRAFT_KEY = "registration_draft"
CSRF_KEY = "csrf_token"  # Flask-WTF's WTF_CSRF_FIELD_NAME, where it keeps the session's secret
REPLACED_CSRF_KEY = "replaced_csrf_token"

# What a script (app.js) is told when the session holds no marketplace login any more.
NO_WIZARD_LOGIN = _l("开通页面已超时，请返回阿里云云市场的「已购买的服务」，重新点击「免登」。")


@dataclass(frozen=True)
class Activation:
    """Where one marketplace login stands, read from the database."""

    login: MarketplaceLogin
    instance: MarketplaceInstance
    binding: CloudAccountBinding | None
    # The Guance account registered (R2) for this Aliyun account, while it is not bound.
    registration: MarketplaceRegistration | None = None

    @property
    def bound_binding(self) -> CloudAccountBinding:
        """The binding, on the pages whose guard let only a bound Aliyun account through (Stage.BOUND on)."""
        if self.binding is None:
            raise LookupError("the Aliyun account is not bound: the page's guard should have redirected")
        return self.binding

    @property
    def bound_workspace(self) -> Workspace:
        """The workspace bound to the instance, on the pages whose guard let only an activation through."""
        if self.instance.workspace is None:
            raise LookupError("no workspace bound: the page's guard should have redirected")
        return self.instance.workspace

    @property
    def started_registration(self) -> MarketplaceRegistration:
        """The registration R2 made, on the R3 pages whose guard let only a registered account through."""
        if self.registration is None:
            raise LookupError("no registration: the page's guard should have redirected")
        return self.registration

    @property
    def stage(self) -> Stage:
        if self.binding is None:
            return Stage.UNBOUND
        return Stage.ACTIVATED if self.instance.activated else Stage.BOUND

    @property
    def entry_endpoint(self) -> str:
        """Where 免登 lands: success when activated, B2 when the Aliyun account is bound, R3 when
        registered but not activated, else G1."""
        if not self.instance.state.usable:
            return LOCK_ENDPOINT
        if self.registration is not None and not self.registration.completed:
            return REGISTER_ENDPOINTS[RegisterStep.ACTIVATION]
        return STAGE_ENTRY[self.stage]


# An expired instance's customer lands on its workspace's lock page (X1), whatever step they were at.
LOCK_ENDPOINT = PAGES["X1"].endpoint

# Where 免登 (and a guard) sends a marketplace login at each stage.
STAGE_ENTRY = {Stage.UNBOUND: PAGES["G1"].endpoint, Stage.BOUND: PAGES["B2"].endpoint,
               Stage.ACTIVATED: PAGES["S1"].endpoint}  # fmt: skip


def start_marketplace_session(login: MarketplaceLogin) -> None:
    """A fresh session (a new id) holding only the new marketplace login (nothing of a previous visitor).

    It keeps the replaced session's CSRF secret under REPLACED_CSRF_KEY, only so that a form of the
    replaced session (an older tab) can be told apart and explained (errors.handle_csrf_error); it
    is never accepted for anything.
    """
    replaced = session.get(CSRF_KEY)
    sessions.renew()
    if replaced:
        session[REPLACED_CSRF_KEY] = replaced
    session[MARKETPLACE_LOGIN_KEY] = issue_marketplace_login(login, current_app.config["SECRET_KEY"])


def replaces_another_account(login: MarketplaceLogin) -> MarketplaceLogin | None:
    """The live marketplace login of ANOTHER Aliyun account in this session, which 免登 would replace."""
    current = current_login()
    return current if current is not None and current.ali_uid != login.ali_uid else None


def hold_login(login: MarketplaceLogin) -> None:
    """Keep a verified 免登 until the customer confirms it (single use, LOGIN_FREE_CONFIRM_SECONDS)."""
    session[PENDING_LOGIN_KEY] = issue_marketplace_login(login, current_app.config["SECRET_KEY"], PENDING_LOGIN_SALT)


def take_held_login() -> MarketplaceLogin | None:
    """The held 免登, removed from the session whatever happens next: 继续 can be pressed once."""
    config = current_app.config
    token = session.pop(PENDING_LOGIN_KEY, None)
    return read_marketplace_login(token, config["SECRET_KEY"], config["LOGIN_FREE_CONFIRM_SECONDS"], PENDING_LOGIN_SALT)


def chosen_site() -> str:
    """The 站点 chosen at the top of the bind pages (B0): where new workspaces and accounts go."""
    site = session.get(SITE_KEY)
    return site if site in SITES else DEFAULT_SITE


def choose_site(site: str) -> None:
    session[SITE_KEY] = site


def announce_binding(workspace_name: str, instance_id: str) -> None:
    """B3's success message, whether the workspace existed (B2 绑定) or was just created (B2a)."""
    message = _(
        "已将工作空间「%(name)s」绑定到商品实例 %(instance)s，该工作空间将通过阿里云账号结算。"
        "点击「确定」查看开通结果。",
        name=workspace_name,
        instance=instance_id,
    )
    flash(message, "success")


def current_login() -> MarketplaceLogin | None:
    return read_marketplace_login(
        session.get(MARKETPLACE_LOGIN_KEY),
        current_app.config["SECRET_KEY"],
        current_app.config["MARKET_LOGIN_MAX_AGE"],
    )


# Built once: every wizard page runs it, and building the statement costs as much as running it.
_ACTIVATION = (
    select(MarketplaceInstance, CloudAccountBinding, MarketplaceRegistration)
    .select_from(MarketplaceInstance)
    .outerjoin(CloudAccountBinding, CloudAccountBinding.ali_uid == bindparam("ali_uid"))
    .outerjoin(MarketplaceRegistration, MarketplaceRegistration.ali_uid == bindparam("ali_uid"))
    .options(joinedload(CloudAccountBinding.billing_account), joinedload(MarketplaceInstance.workspace))
    .where(MarketplaceInstance.instance_id == bindparam("instance_id"))
)


def load_activation(login: MarketplaceLogin) -> Activation | None:
    """The instance and its workspace, the Aliyun account's binding and billing-center account, its registration.

    One query: every wizard page starts here, and on PostgreSQL each query is a round trip
    (three separate ones, plus a lazy load of the billing-center account, cost ~30% of G1).
    """
    row = db.session.execute(_ACTIVATION, {"ali_uid": login.ali_uid, "instance_id": login.instance_id}).first()
    if row is None or not row.MarketplaceInstance.state.live:
        return None
    instance, binding, registration = row
    # A registration matters only until the Aliyun account is bound (see Activation.entry_endpoint).
    return Activation(
        login=login, instance=instance, binding=binding, registration=registration if binding is None else None
    )


def entry_url(login: MarketplaceLogin) -> str:
    activation = load_activation(login)
    return url_for(activation.entry_endpoint if activation else STAGE_ENTRY[Stage.UNBOUND])


def login_free_landing(login: MarketplaceLogin) -> tuple[str, Workspace | None]:
    """Where 免登 lands, from one read of the activation: the wizard's step while activating; once
    activated (S1 was shown when the activation completed), the login page with the owner's username
    and the site filled in, and the workspace, so that a member already signed in in this browser can
    go straight to the console (spi.login_free)."""
    activation = load_activation(login)
    if activation is None or activation.stage is not Stage.ACTIVATED or not activation.instance.state.usable:
        return url_for(activation.entry_endpoint if activation else STAGE_ENTRY[Stage.UNBOUND]), None
    workspace = activation.bound_workspace
    return url_for(PAGES["L1"].endpoint, site=workspace.site, username=workspace.owner.username), workspace


def login_free_url(login: MarketplaceLogin) -> str:
    return login_free_landing(login)[0]


def is_signed_in_member(workspace: Workspace | None) -> bool:
    """Whether the Guance account signed in in this browser is a member of `workspace`."""
    if workspace is None or not current_user.is_authenticated:
        return False
    return any(member.account_id == current_user.id for member in workspace.members)


def what_already_happened(activation: Activation) -> str:
    """Why a form sent from an older page (a second tab, Back) was not applied: what the flow did meanwhile."""
    workspace = activation.instance.workspace
    if activation.stage is Stage.ACTIVATED and workspace is not None:
        return _("该实例已绑定工作空间「%(name)s」，此页面的提交未执行。", name=workspace.name)
    if activation.stage is Stage.BOUND:
        return _("该阿里云账号已绑定费用中心账号「%(name)s」，此页面的提交未执行。",
                 name=activation.bound_binding.billing_account.username)  # fmt: skip
    return _("开通已在另一个页面继续，此页面的提交未执行。请在当前页面继续。")


def login_required_page():
    """The page shown when a wizard page is opened without a valid marketplace login."""
    return render_template("flow/login_required.html"), 401


def wizard_page(*stages: Stage):
    """Guard a page: it needs a valid marketplace login and one of `stages`, else the right step.

    The view receives the current Activation as its first argument.
    """

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            sessions.require_store()
            login = current_login()
            activation = load_activation(login) if login else None
            if activation is None:
                return login_required_page()
            lifecycle.expire_if_overdue(activation.instance)  # its date passed: the lock page, not the wizard
            if not activation.instance.state.usable or activation.stage not in stages:
                # A form of an older tab, or one refused a moment ago because the flow moved on
                # meanwhile (its refusal kept for this GET): say what happened instead.
                if request.method == "POST" or form_state.take_pending():
                    flash(what_already_happened(activation), "warning")
                return redirect(url_for(activation.entry_endpoint))
            if request.method == "POST" and activation.instance.language != page_language():
                lifecycle.remember_language(activation.instance.instance_id, page_language())
            events.page_shown(activation)  # the log's context; the activation funnel's step
            return view(activation, *args, **kwargs)

        return guarded

    return decorate


# ---- The registration path: R1 基本信息, R2 企业信息, R3 选择开通方式 ----


REGISTER_ENDPOINTS = {
    RegisterStep.BASIC: PAGES["R1"].endpoint,
    RegisterStep.COMPANY: PAGES["R2"].endpoint,
    RegisterStep.ACTIVATION: PAGES["R3"].endpoint,
    RegisterStep.FINISHED: PAGES["R3-direct"].endpoint,
}


def remember_draft(draft_id: str) -> None:
    session[REGISTRATION_DRAFT_KEY] = draft_id


def draft_id() -> str | None:
    return session.get(REGISTRATION_DRAFT_KEY)


def forget_draft() -> None:
    session.pop(REGISTRATION_DRAFT_KEY, None)


def current_draft(activation: Activation) -> RegistrationDraft | None:
    """R1's answers saved in this session, still live (the database decides)."""
    return registrations.find_draft(draft_id(), activation.login.ali_uid)


def registration_progress(activation: Activation) -> RegisterStep:
    """The database first (a registration of this Aliyun account), then this session's draft."""
    registration = activation.registration
    if registration is not None:
        return RegisterStep.FINISHED if registration.completed else RegisterStep.ACTIVATION
    return RegisterStep.COMPANY if current_draft(activation) else RegisterStep.BASIC


def registration_page(*steps: RegisterStep):
    """Guard an R page: an unbound Aliyun account at one of `steps`, else the step it really is at.

    R1 also serves COMPANY, so R1's answers can still be changed from R2; once R2 has created the
    Guance account, R1 and R2 are closed for good.
    """

    def decorate(view):
        @wraps(view)
        def at_step(activation: Activation, *args, **kwargs):
            step = registration_progress(activation)
            if step not in steps:
                if request.method == "POST" or form_state.take_pending():
                    flash(what_already_happened(activation), "warning")
                return redirect(url_for(REGISTER_ENDPOINTS[step]))
            return view(activation, *args, **kwargs)

        return wizard_page(Stage.UNBOUND)(at_step)

    return decorate
