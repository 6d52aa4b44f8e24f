"""The page map: every page of the Guance side, where it lives, who may see it, how the docs show it.

One declaration per page: its id in the documentation (SPEC.md: G1, R1-R3, B0-B3, B2a-c, S1, L1,
the console; X1-X3 and U1 after activation), title, URL, endpoint, template, guard, step indicator
and screenshots. Views register through `route(bp, "G1")`, which takes the URL, methods and guard
from here; `render_page(...)` renders the page's template with `page` in the context, and the
layouts draw the step indicator from it. The README's and the guide's page tables are written from
it (`python -m e2e.guide` writes them), and tests/test_pages.py fails when a page is served outside it.

Pages that are states of another page (B0 is B1 on a first visit, B3 is B2 once bound, B2b and B2c
are B2a's tabs) are declared `state_of` that page: they document it and carry its screenshots,
but only the page itself is routed. The simulator's pages (M1-M5) are another application's:
marketplace/pages.py maps them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from flask import Blueprint, redirect, render_template, request, url_for

from .i18n import lazy_gettext as _l


class Stage(Enum):
    """How far the activation of a marketplace login is, as the database says."""

    UNBOUND = "unbound"  # the Aliyun account has no billing-center account yet: G1, R1-R3, B0/B1
    BOUND = "bound"  # billing-center account bound, instance not yet bound to a workspace: B2, B2a-c
    ACTIVATED = "activated"  # both bound: B3, S1


class RegisterStep(IntEnum):
    """How far the registration of an unbound Aliyun account is; the values number REGISTER_STEPS."""

    BASIC = 1  # R1: nothing saved yet
    COMPANY = 2  # R2: R1's draft is waiting in this session
    ACTIVATION = 3  # R3: the Guance account exists (R2 done), nothing activated yet
    FINISHED = 4  # R3 done without a billing-center account: the workspace settles through Guance


@dataclass(frozen=True)
class Steps:
    """A step indicator: its labels, and what a screen reader calls it."""

    labels: tuple
    label: object


REGISTER_STEPS = Steps((_l("基本信息"), _l("企业信息"), _l("选择开通方式")), _l("注册进度"))
BIND_STEPS = Steps((_l("绑定费用中心账号"), _l("绑定工作空间")), _l("开通进度"))


@dataclass(frozen=True)
class Guard:
    """Who may open a page: a marketplace login at some stages or registration steps, a signed-in
    Guance account, or anyone. `wrap` puts the check around a view (the checks live in flow.py)."""

    kind: str  # "stage", "register", "account", "operator" or "anyone"
    values: tuple = ()
    who: object = ""  # in words, for the docs

    def wrap(self, view: Callable) -> Callable:
        from flask_login import login_required

        from . import flow

        if self.kind == "stage":
            return flow.wizard_page(*self.values)(view)
        if self.kind == "register":
            return flow.registration_page(*self.values)(view)
        if self.kind == "operator":
            from .blueprints.ops.access import operator_required

            return operator_required(view)
        return login_required(view) if self.kind == "account" else view


def at_stage(*stages: Stage, who) -> Guard:
    return Guard("stage", stages, who)


def at_register_step(*steps: RegisterStep, who) -> Guard:
    return Guard("register", steps, who)


SIGNED_IN = Guard("account", (), _l("已登录的观测云账号"))
OPERATOR = Guard("operator", (), _l("运维人员（密码 + 动态验证码）"))
ANYONE = Guard("anyone", (), _l("任何人"))


@dataclass(frozen=True)
class Page:
    id: str
    title: object
    url: str
    endpoint: str  # blueprint.view
    template: str | None
    guard: Guard = ANYONE
    steps: Steps | None = None
    step: int = 0  # 1-based position in `steps`
    screenshots: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("GET",)
    state_of: str | None = None  # the page this one is a state of (same URL, not routed again)
    documented: bool = True  # a page of SPEC.md (False: one this product adds)
    notes: tuple = field(default=())

    @property
    def blueprint(self) -> str:
        return self.endpoint.split(".")[0]

    @property
    def view(self) -> str:
        return self.endpoint.split(".")[1]


_UNBOUND = _l("免登后、阿里云账号尚未绑定费用中心账号")
_BOUND = _l("免登后、已绑定费用中心账号但商品实例尚未绑定工作空间")
_ACTIVATED = _l("免登后、已开通")

PAGE_LIST: tuple[Page, ...] = (
    Page("home", _l("首页"), "/", "home.index", "home/index.html", documented=False),
    Page(
        "G1", _l("选择开通方式"), "/activate/", "activate.choose", "activate/choose.html",
        at_stage(Stage.UNBOUND, who=_UNBOUND), screenshots=("10.aliyun_market_2", "17.process_1"),
        methods=("GET", "POST"),
    ),
    Page(
        "R1", _l("注册：基本信息"), "/register/basic", "register.basic", "register/basic.html",
        at_register_step(RegisterStep.BASIC, RegisterStep.COMPANY, who=_UNBOUND), REGISTER_STEPS, 1,
        ("10.aliyun_market_3",), ("GET", "POST"),
    ),
    Page(
        "R2", _l("注册：企业信息"), "/register/company", "register.company", "register/company.html",
        at_register_step(RegisterStep.COMPANY, who=_l("填写了基本信息的注册者")), REGISTER_STEPS, 2,
        methods=("GET", "POST"),
    ),
    Page(
        "R3", _l("注册：选择开通方式"), "/register/activation", "register.choose_method", "register/activation.html",
        at_register_step(RegisterStep.ACTIVATION, who=_l("已注册观测云账号、尚未开通的注册者")), REGISTER_STEPS, 3,
        methods=("GET", "POST"),
    ),
    Page(
        "R3-direct", _l("注册完成：由观测云直接结算"), "/register/finished", "register.finished",
        "register/finished.html", at_register_step(RegisterStep.FINISHED, who=_l("不同步创建费用中心账号的注册者")),
        documented=False,
    ),
    Page(
        "B1", _l("绑定费用中心账号"), "/bind/billing", "bind.billing_account", "bind/billing.html",
        at_stage(Stage.UNBOUND, who=_UNBOUND), BIND_STEPS, 1, ("10.market_aliyun_1",), ("GET", "POST"),
    ),
    Page(
        "B0", _l("绑定观测云工作空间（首次访问的指引）"), "/bind/billing", "bind.billing_account",
        "bind/billing.html", at_stage(Stage.UNBOUND, who=_UNBOUND), BIND_STEPS, 1, ("15.aliyun_register_1",),
        state_of="B1",
    ),
    Page(
        "B2", _l("绑定工作空间"), "/bind/workspaces", "bind.workspaces", "bind/workspaces.html",
        at_stage(Stage.BOUND, Stage.ACTIVATED, who=_BOUND), BIND_STEPS, 2, ("15.aliyun_register_6.1",),
    ),
    Page(
        "B3", _l("绑定工作空间：已绑定"), "/bind/workspaces", "bind.workspaces", "bind/workspaces.html",
        at_stage(Stage.ACTIVATED, who=_ACTIVATED), BIND_STEPS, 2, ("15.aliyun_register_6",), state_of="B2",
    ),
    Page(
        "B2a", _l("创建工作空间"), "/workspace/new", "workspace.new", "workspace/new.html",
        at_stage(Stage.BOUND, who=_BOUND), BIND_STEPS, 2, ("1-1-commercial-aliyun", "1-2-commercial-aliyun"),
        ("GET", "POST"),
    ),
    Page(
        "B2b", _l("创建工作空间：有观测云账号"), "/workspace/new?tab=existing", "workspace.new",
        "workspace/new.html", at_stage(Stage.BOUND, who=_BOUND), BIND_STEPS, 2, ("15.aliyun_register_5",),
        state_of="B2a",
    ),
    Page(
        "B2c", _l("创建工作空间：没有观测云账号"), "/workspace/new?tab=register", "workspace.new",
        "workspace/new.html", at_stage(Stage.BOUND, who=_BOUND), BIND_STEPS, 2, ("15.aliyun_register_3",),
        state_of="B2a",
    ),
    Page(
        "S1", _l("开通成功"), "/activate/success", "activate.success", "activate/success.html",
        at_stage(Stage.ACTIVATED, who=_ACTIVATED), screenshots=("15.aliyun_register_7",),
    ),
    Page("L1", _l("观测云登录"), "/login/pwd", "login.login", "login/login.html", methods=("GET", "POST")),
    Page(
        "console", _l("观测云控制台"), "/console/", "console.home", "console/home.html", SIGNED_IN,
        screenshots=("1-free-start-1109", "metering-console", "x1-lock-banner"),
    ),
    Page("datakit", _l("从安装 DataKit 开始"), "/console/datakit", "console.datakit", "console/datakit.html",
         SIGNED_IN, documented=False),  # fmt: skip
    Page(
        "U1", _l("工作空间本月用量"), "/console/workspaces/<int:workspace_id>/usage", "console.usage_month",
        "console/usage.html", SIGNED_IN,
    ),
    Page(
        "X1", _l("锁定倒计时（免登）"), "/lock", "lifecycle.instance_lock", "lifecycle/lock.html",
        Guard("login-free", (), _l("免登后、商品实例已过期")), screenshots=("x1-lock-page",),
    ),
    Page(
        "X1-console", _l("锁定倒计时（控制台）"), "/console/workspaces/<int:workspace_id>/lock",
        "console.workspace_lock", "lifecycle/lock.html", SIGNED_IN,
    ),
    Page(
        "X2", _l("解散工作空间"), "/console/workspaces/<int:workspace_id>/dissolve", "console.dissolve",
        "lifecycle/dissolve.html", SIGNED_IN, methods=("GET", "POST"),
    ),
    Page(
        "X3", _l("解锁方式"), "/unlock/", "lifecycle.unlock", "lifecycle/unlock.html",
        Guard("unlock-link", (), _l("打开了立即解锁链接的浏览器")), screenshots=("x3-unlock-choices",),
        methods=("GET", "POST"),
    ),
    Page("O-login", _l("运维控制台登录"), "/ops/login", "ops.login", "ops/login.html", methods=("GET", "POST"),
         documented=False),
    Page("O-totp", _l("运维控制台：动态验证码"), "/ops/login/totp", "ops.second_factor", "ops/totp.html",
         Guard("operator-password", (), _l("输入了运维账号和密码的运维人员")), screenshots=("ops-enrol",),
         methods=("GET", "POST"), documented=False),
    Page("O1", _l("运维控制台：实例"), "/ops/", "ops.instances", "ops/instances.html", OPERATOR,
         screenshots=("ops-instances",), documented=False),
    Page("O2", _l("运维控制台：实例时间线"), "/ops/instances/<instance_id>", "ops.instance", "ops/instance.html",
         OPERATOR, screenshots=("ops-timeline",), documented=False),
    Page("O3", _l("运维控制台：SPI 调用记录"), "/ops/spi", "ops.spi_calls", "ops/spi_calls.html", OPERATOR,
         documented=False),
    Page("O4", _l("运维控制台：卡住的开通"), "/ops/stuck", "ops.stuck", "ops/stuck.html", OPERATOR, documented=False),
    Page("O5", _l("运维控制台：开通漏斗"), "/ops/funnel", "ops.funnel", "ops/funnel.html", OPERATOR,
         screenshots=("ops-funnel",), documented=False),
    Page("O6", _l("运维控制台：计量推送失败"), "/ops/metering", "ops.metering", "ops/metering.html", OPERATOR,
         documented=False),
    Page("O7", _l("运维控制台：失败的任务"), "/ops/tasks", "ops.tasks", "ops/tasks.html", OPERATOR, documented=False),
    Page("O8", _l("运维控制台：Webhook"), "/ops/webhooks", "ops.webhook_list", "ops/webhooks.html", OPERATOR,
         methods=("GET", "POST"), documented=False),
    Page("O9", _l("运维控制台：Webhook 投递记录"), "/ops/webhooks/<int:endpoint_id>", "ops.webhook",
         "ops/webhook.html", OPERATOR, documented=False),
    Page("O10", _l("运维控制台：操作审计"), "/ops/audit", "ops.audit_log", "ops/audit.html", OPERATOR,
         documented=False),
    Page("terms", _l("观测云用户协议"), "/agreements/user", "home.terms", "home/agreement.html", documented=False),
    Page("privacy", _l("隐私政策"), "/agreements/privacy", "home.privacy", "home/agreement.html", documented=False),
    Page("devmail", _l("开发邮箱"), "/dev/mail/", "devmail.inbox", "devmail/inbox.html", documented=False),
)  # fmt: skip

PAGES: dict[str, Page] = {page.id: page for page in PAGE_LIST}
ROUTED: dict[str, Page] = {page.endpoint: page for page in PAGE_LIST if page.state_of is None}

# What answers GET but is not a page a person reads: each with its reason (tests/test_pages.py).
NOT_PAGES = {
    "static": "style sheets, scripts, images",
    "spi.endpoint": "the SPI (JSON for the marketplace) and the 免登 redirect",
    "lifecycle.redeem": "a 立即解锁 link: it redirects to X3",
    "ops.enrolment_qr": "the QR code image of O-totp's enrolment",
    "health.healthz": "health check for the process supervisor (JSON)",
    "health.readyz": "readiness check for the load balancer (JSON)",
    "metrics.scrape": "Prometheus metrics",
}


def route(bp: Blueprint, page_id: str, **options) -> Callable:
    """Register the view of `page_id` on `bp` with the map's URL, methods and guard."""
    page = PAGES[page_id]
    if page.state_of is not None or page.blueprint != bp.name:
        raise ValueError(f"page {page_id} is served by {page.endpoint}, not by blueprint {bp.name!r}")

    def register(view: Callable) -> Callable:
        if view.__name__ != page.view:
            raise ValueError(f"page {page_id}'s view is {page.view}, not {view.__name__}")
        rule = page.url.removeprefix(bp.url_prefix or "") or "/"
        bp.add_url_rule(rule, page.view, page.guard.wrap(view), methods=list(page.methods), **options)
        return view

    return register


def page_url(page_id: str, **values) -> str:
    """The URL of a page of the map (templates: `page_url('B2', confirm=3)`)."""
    return url_for(PAGES[page_id].endpoint, **values)


def current_page() -> Page | None:
    return ROUTED.get(request.endpoint or "")


def render_page(**context):
    """The current page's template, with the page (its title and step indicator) in the context.

    A wizard page answering a POST with its form (errors, 获取验证码) redirects to itself instead,
    the form's state kept for the GET (Post/Redirect/Get, wizard/form_state.py).
    """
    from . import form_state

    page = current_page()
    if page is None or page.template is None:
        raise LookupError(f"{request.endpoint} is not a page of the map")
    form = context.get("form")
    if form is not None and request.method == "POST" and page.guard.kind in WIZARD_GUARDS:
        form_state.keep_form(form)
        return redirect(request.full_path.removesuffix("?"), 303)
    if form is not None and request.method == "GET":
        form_state.restore_form(form)
    # The language switch submits this form (id="page-form"), so what was typed survives the switch.
    page_form = "page-form" if form is not None and (page.guard.kind in WIZARD_GUARDS or page.id == "L1") else None
    return render_template(page.template, page=page, page_form=page_form, **context)


# The pages of the activation wizard (a marketplace login's pages): they answer a form with a redirect.
WIZARD_GUARDS = ("stage", "register")


# ---- The table the README and the guide show ----


def table(language: str = "en") -> str:
    """The page map as Markdown rows (titles in `language`): id, title, URL, who sees it, screenshots."""
    from flask_babel import force_locale

    from . import create_app

    rows = []
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context(), force_locale(language):
        for page in PAGE_LIST:
            shots = ", ".join(f"`{name}.png`" for name in page.screenshots) or "—"
            who = str(page.guard.who) if page.guard.who else "—"
            rows.append(f"| {page.id} | {page.title} | `{page.url}` | {who} | {shots} |")
    return "\n".join(rows) + "\n"
