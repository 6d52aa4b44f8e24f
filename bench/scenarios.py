"""Whole activations as request sequences that bench/wrk/flow.lua walks, split where a code is mailed.

A customer's activation is one or more segments. A segment that ends with 获取验证码 names the
variable holding the address the code goes to; between segments the benchmark reads every code
from the sink's Maildir (as the customer reads the email) and the next segment types it in. So
wrk never waits on mail, and whether mail leaves inside the request or later from a queue, the
codes are there before they are needed.

Every step checks what a browser walking the flow would see (status, redirect target, a text on
the page), so an activation counts only when the customer really reached S1 and, where an account
was created, logged in with it. The same walks in Python (bench/flows.py) prepare the page sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote_plus

from devtools.alibaba import Alibaba

from .customers import PASSWORD, SITE, Customer

BIND_FORM = r'action="/bind/workspaces/(%d+)"'  # a Lua pattern: B2's 绑定 (a form) on the first workspace


@dataclass(frozen=True)
class Segment:
    steps: list[dict]
    code_to: str | None = None  # the variable naming the address the last step mailed a code to
    carry: tuple[str, ...] = ("csrf",)  # variables the next segment needs back from wrk


def form(**fields: str) -> str:
    """A form body; values written {name} are filled in per customer by flow.lua (URL-safe already)."""
    return "&".join(f"{name}={value if value.startswith('{') else quote_plus(value)}" for name, value in fields.items())


def step(method: str, path: str, route: str, status: int = 200, **checks) -> dict:
    return {"m": method, "p": path, "r": route, "s": status, **checks}


def page(path: str, route: str | None = None, **checks) -> dict:
    return step("GET", path, route or f"GET {path}", **checks)


def post(path: str, body: str, to: str, route: str | None = None) -> dict:
    """A form posted with the page's CSRF token; the product answers with a redirect to `to`."""
    return step("POST", path, route or f"POST {path}", 302, b=f"csrf_token={{csrf}}&{body}", loc=to)


def send_code(purpose: str, identifier: str) -> dict:
    """获取验证码 as app.js sends it: the page's CSRF token in X-CSRFToken, JSON back."""
    return step(
        "POST",
        "/codes/send",
        "POST /codes/send",
        b=form(purpose=purpose, identifier=identifier),
        h={"X-CSRFToken": "{csrf}", "Accept": "application/json"},
        has='"ok":true',
    )


# ---- Segments shared by the branches ----

ARRIVE = [
    page("{create}", "GET /spi?action=createInstance", has='"instanceId"'),  # 开通 on the marketplace
    step("GET", "{verify}", "GET /spi?action=verify", 302, loc="/activate/"),  # 免登
    page("/activate/", csrf=True),
]
TO_B1 = [
    *ARRIVE,
    post("/activate/", form(path="bind"), "/bind/billing"),
    page("/bind/billing", csrf=True),
    send_code("bind_billing", "{billing_username}"),
]
BIND_BILLING = post("/bind/billing", form(username="{billing_username}", code="{code}"), "/bind/workspaces")
FINISH = [  # B3 确定, S1
    page("/bind/workspaces", has="/activate/success"),
    page("/activate/success", has="开通成功"),
]
LOG_IN = [
    page("/login/pwd", csrf=True),
    post("/login/pwd", form(site=SITE, username="{new_username}", password=PASSWORD), "/console/"),
    page("/console/", has="商业版"),
]


def create_workspace(tab: str, **fields: str) -> list[dict]:
    """B2a-c: the tab's form with the mailed code, 创建; back on B3."""
    body = form(name="性能测试空间", language="zh", agreement="y", code="{code}", **fields)
    return [post(f"/workspace/new?tab={tab}", body, "/bind/workspaces"), *FINISH]


def open_tab(tab: str, purpose: str, email: str) -> list[dict]:
    return [page(f"/workspace/new?tab={tab}", csrf=True), send_code(purpose, email)]


SEGMENTS = {
    "bind": [
        Segment(TO_B1, code_to="billing_email"),
        Segment(
            [
                BIND_BILLING,
                page("/bind/workspaces", grab=["workspace", BIND_FORM], csrf=True),
                post("/bind/workspaces/{workspace}", "", "/bind/workspaces", "POST /bind/workspaces/<id>"),
                *FINISH,
            ]
        ),
    ],
    "create": [
        Segment(TO_B1, code_to="billing_email"),
        Segment(
            [BIND_BILLING, page("/bind/workspaces"), *open_tab("existing", "create_workspace", "{owner_email}")],
            code_to="owner_email",
        ),
        Segment(create_workspace("existing", email="{owner_email}", style="ops")),
    ],
    "register_workspace": [
        Segment(TO_B1, code_to="billing_email"),
        Segment(
            [BIND_BILLING, page("/bind/workspaces"), *open_tab("register", "register_workspace", "{new_email}")],
            code_to="new_email",
        ),
        Segment(
            [
                *create_workspace(
                    "register",
                    email="{new_email}",
                    username="{new_username}",
                    password=PASSWORD,
                    confirm=PASSWORD,
                    phone="13800138000",
                    style="default",
                ),
                *LOG_IN,
            ]
        ),
    ],
    "register": [
        Segment(
            [
                *ARRIVE,
                post("/activate/", form(path="register"), "/register/basic"),
                page("/register/basic", csrf=True),
                send_code("register", "{new_email}"),
            ],
            code_to="new_email",
        ),
        Segment(
            [
                post(
                    "/register/basic",
                    form(
                        site=SITE,
                        username="{new_username}",
                        password=PASSWORD,
                        confirm=PASSWORD,
                        email="{new_email}",
                        phone="13800138000",
                        code="{code}",
                    ),
                    "/register/company",
                ),
                page("/register/company", csrf=True),
                post("/register/company", form(company_name="性能测试有限公司", agreement="y"), "/register/activation"),
                page("/register/activation", csrf=True),
                post(
                    "/register/activation",
                    form(
                        method="aliyun",
                        workspace_name="性能测试空间",
                        workspace_language="zh",
                        workspace_style="ops",
                        create_billing_account="y",
                        agreement="y",
                    ),
                    "/activate/success",
                ),
                page("/activate/success", has="开通成功"),
                *LOG_IN,
            ]
        ),
    ],
}


@dataclass
class Walker:
    """One customer's state between segments: cookies, variables, what each step took."""

    customer: Customer
    cookies: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)  # wall time of each segment, first send to last answer
    steps: list[tuple[str, float]] = field(default_factory=list)  # (route, seconds) of every step
    failure: str | None = None

    @classmethod
    def start(cls, customer: Customer) -> Walker:
        names = ("billing_username", "billing_email", "owner_email", "new_username", "new_email")
        return cls(customer, variables={name: getattr(customer, name) for name in names})

    def sign_links(self, isv_key: str) -> None:
        """The marketplace's signed SPI call and 免登 link, fresh (the link's timeStamp has a window)."""
        customer, alibaba = self.customer, Alibaba(isv_key)
        order = {"orderId": f"o-{customer.order_biz_id}"}
        self.variables["create"] = alibaba.create_instance_url(customer.ali_uid, customer.order_biz_id, **order)
        self.variables["verify"] = alibaba.login_free_url(customer.order_biz_id)
