"""One customer driver: a browser over any transport, and the steps of the flow in the product's terms.

    customer = Customer(Browser.of(app.test_client()), smtp, Alibaba(isv_key, Browser.of(app.test_client())))
    customer.arrive("1380000000000001")               # 开通 (createInstance), then 免登: G1
    customer.choose("bind")                            # 有费用中心账号: B1
    customer.bind_billing("acme_billing", "billing@acme.example")   # the mailed code: B2
    customer.bind_workspace()                          # 绑定 on a row: B3
    customer.finish()                                  # 确定: S1 开通成功

The transport is the Flask test client (tests, hardening: in-process) or HTTP (httpx with a cookie
jar: the benchmark and live servers); both answer with `devtools.pages.Page`, read with an HTML
parser. Each step checks where the product sent the customer and raises FlowError otherwise. The
step names are e2e/steps.py's (Playwright), so a walk reads the same in every suite.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import httpx
from flask.testing import FlaskClient

from .pages import FlowError, Page

__all__ = ["Browser", "Customer", "FlaskTransport", "FlowError", "HttpTransport", "Mailbox", "NewAccount", "Page"]

SITE = "cn1"
PHONE = "13800138000"


# ---- Transports: one interface, in-process or over HTTP ----


class Transport(Protocol):
    def request(self, method: str, url: str, **options) -> Page: ...

    def cookies(self) -> dict[str, str]: ...

    def forget(self) -> None: ...


class FlaskTransport:
    """Flask's test client (tests' IsolatedClient: each request in an application context of its own).
    Extra options go to the client as they are (environ_base, content_type, query_string ...)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def request(self, method: str, url: str, **options) -> Page:
        response = self.client.open(url, method=method, **options)
        return Page(response.status_code, response.headers, response.get_data(as_text=True), url, response)

    def cookies(self) -> dict[str, str]:
        return {cookie.key: cookie.value for cookie in self.client._cookies.values()}

    def forget(self) -> None:
        self.client._cookies.clear()


class CookieJar:
    """The cookies of one site, kept as a browser keeps them for http://127.0.0.1.

    Browsers treat loopback as a secure context, so the product's Secure cookies (production
    profile) are stored and sent back over plain HTTP here. httpx's own jar would drop them: it
    follows the older rule that Secure cookies travel over https only. Every cookie the product
    sets is host-only with Path=/, so a name-to-value map is all the state there is.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.values.items())} if self.values else {}

    def remember(self, response: httpx.Response) -> None:
        for line in response.headers.get_list("set-cookie"):
            cookie = SimpleCookie()
            cookie.load(line)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:  # how Flask deletes a cookie
                    self.values.pop(name, None)
                else:
                    self.values[name] = morsel.value


class HttpTransport:
    """HTTP to live servers (gunicorn, werkzeug) with httpx and a cookie jar of the site's. With several
    base URLs (instances of one site behind no balancer) it alternates request by request."""

    def __init__(self, base_url: str | list[str], timeout: float = 30.0) -> None:
        self.bases = itertools.cycle([base_url] if isinstance(base_url, str) else base_url)
        self.http = httpx.Client(timeout=timeout, follow_redirects=False)
        self.jar = CookieJar()

    def request(self, method: str, url: str, headers: dict | None = None, **options) -> Page:
        target = url if "://" in url else next(self.bases) + url  # (免登 jumps to the other site's origin)
        response = self.send(method, target, {**(headers or {}), **self.jar.header()}, **options)
        self.jar.remember(response)
        return Page(response.status_code, response.headers, response.text, url, response)

    def send(self, method: str, url: str, headers: dict, **options) -> httpx.Response:
        return self.http.request(method, url, headers=headers, **options)

    def cookies(self) -> dict[str, str]:
        return dict(self.jar.values)

    def forget(self) -> None:
        self.jar.values.clear()

    def close(self) -> None:
        self.http.close()


# ---- A browser: pages, forms with their CSRF token, redirects ----


class Browser:
    """One browser on one site; every answer is a Page."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @classmethod
    def of(cls, client: FlaskClient | str | list[str]) -> Browser:
        """A browser over a Flask test client, or over HTTP when given base URLs."""
        return cls(FlaskTransport(client) if isinstance(client, FlaskClient) else HttpTransport(client))

    @property
    def client(self) -> FlaskClient:
        """The Flask test client underneath (cookies, session_transaction), for in-process tests."""
        return self.transport.client

    def open(self, method: str, url: str, follow: bool = False, **options) -> Page:
        """One request; with `follow`, then every redirect as a browser follows it (GET).

        A 303 is always followed: it is a wizard form answered with errors (or 获取验证码's outcome)
        sending the browser back to the form's page (Post/Redirect/Get, wizard/form_state.py), and
        that page, shown once with what was kept, is what the customer sees next."""
        page = self.transport.request(method, url, **options)
        while page.is_redirect and (follow or page.status == 303):
            page = self.transport.request("GET", page.location)
        return page

    def get(self, url: str, follow: bool = False, **options) -> Page:
        return self.open("GET", url, follow, **options)

    def post(self, url: str, data: dict | None = None, follow: bool = False, **options) -> Page:
        return self.open("POST", url, follow, data=data, **options)

    def submit(self, page: Page | str, data: dict | None = None, action: str | None = None, **options) -> Page:
        """Post `data` with the CSRF token of `page` (opened first when given its URL) to `action` (default:
        where the page was opened), as the page's form does."""
        if isinstance(page, str):
            page = self.get(page)
        return self.post(action or page.url, {"csrf_token": page.csrf_token, **(data or {})}, **options)

    def send(self, page: Page, url: str, data: dict, **options) -> Page:
        """A request as app.js sends one: form fields, the page's CSRF token in X-CSRFToken, JSON back."""
        headers = {"X-CSRFToken": page.csrf_token, "Accept": "application/json", **options.pop("headers", {})}
        return self.post(url, data, headers=headers, **options)

    def follow(self, page: Page) -> Page:
        """The page a redirect leads to."""
        if not page.is_redirect:
            raise FlowError(f"{page.url} answered {page.status}, not a redirect")
        return self.get(page.location)

    def cookies(self) -> dict[str, str]:
        return self.transport.cookies()

    def forget(self) -> None:
        """A new customer at the same keyboard: no cookies from the previous one."""
        self.transport.forget()

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()


# ---- The customer ----


class Mailbox(Protocol):
    """Where the customer reads mail: devtools.smtp.SmtpSink (newest message first)."""

    def messages(self, to: str | None = None) -> list: ...

    def last_code(self, to: str) -> str: ...


@dataclass(frozen=True)
class NewAccount:
    """A Guance account the customer registers (R1, or B2c)."""

    username: str
    email: str
    password: str
    site: str = SITE
    phone: str = PHONE

    def basic_info(self) -> dict[str, str]:
        """R1's fields."""
        return {"site": self.site, "username": self.username, "password": self.password,
                "confirm": self.password, "email": self.email, "phone": self.phone}  # fmt: skip


@dataclass
class Customer:
    """One customer at one browser. Arrives by 免登 as Alibaba Cloud sends it (`alibaba` signs the
    SPI calls), or through the marketplace simulator (`market`: a browser on it). Reads codes from
    `mailbox`. `page` is where the customer is now."""

    browser: Browser
    mailbox: Mailbox | None = None
    alibaba: object | None = None  # devtools.alibaba.Alibaba
    market: Browser | None = None
    mail_timeout: float = 30.0
    ali_uid: str | None = None
    instance_id: str | None = None
    login_free_link: str | None = None  # the last 免登 link opened
    page: Page | None = field(default=None, repr=False)

    def at(self, page: Page) -> Page:
        self.page = page
        return page

    def on(self, url: str) -> Page:
        """The page at `url`: where the customer is, or opened."""
        if self.page is not None and self.page.url == url and self.page.status == 200:
            return self.page
        return self.at(self.browser.get(url).expect(200))

    def redirected(self, page: Page, to: str) -> Page:
        """The redirect to `to` that the step expects, followed; FlowError anywhere else."""
        return self.at(self.browser.follow(page.expect(302, at=to)))

    # ---- Arriving: 开通 and 免登 ----

    def arrive(self, ali_uid: str, order_biz_id: str | None = None, lands: str | None = "/activate/") -> Page:
        """Buy an instance and come in through 免登; returns where 免登 led (G1 for a new customer)."""
        self.ali_uid = ali_uid
        if self.market is not None:
            return self.buy_and_enter(ali_uid, lands)
        self.instance_id = self.alibaba.create_instance(ali_uid, order_biz_id)
        return self.login_free(lands=lands)

    def login_free(self, instance_id: str | None = None, moment=None, lands: str | None = None) -> Page:
        """免登 (again): the signed link for the instance, followed to where the product sends it."""
        url = self.alibaba.login_free_url(instance_id or self.instance_id, moment)
        return self.enter(url, lands)

    def enter(self, url: str, lands: str | None) -> Page:
        """Open a 免登 link; `lands`: where it must lead (else anywhere)."""
        self.login_free_link = url
        entry = self.browser.get(url)
        return self.redirected(entry, lands) if lands else self.at(self.browser.get(entry.location))

    def buy(self, ali_uid: str) -> Page:
        """M1-M4 in the simulator: signed in as `ali_uid`, 立即开通, the agreement, 开通, 确认: 已购买的服务."""
        self.market.get(f"/?aliUid={ali_uid}")
        submitted = self.market.follow(self.market.submit("/activate", {"agreement": "y"}).expect(302))
        return self.market.get(submitted.link("[role=dialog] a[href='/instances']")).expect(200)

    def buy_and_enter(self, ali_uid: str, lands: str | None) -> Page:
        """Buy in the simulator, then 免登 on the newest instance of 已购买的服务: off to the Guance side."""
        instances = self.buy(ali_uid)
        jump = self.market.get(instances.link("tbody tr a[href$='/login-free']")).expect(302)
        self.instance_id = parse_qs(urlsplit(jump.location).query)["instanceId"][0]
        return self.enter(jump.location, lands)

    # ---- G1, codes ----

    def choose(self, path: str) -> Page:
        """G1: "register" (没有费用中心账号) leads to R1, "bind" (有费用中心账号) to B1."""
        target = {"register": "/register/basic", "bind": "/bind/billing"}[path]
        return self.redirected(self.browser.submit("/activate/", {"path": path}), target)

    def send_code(self, identifier: str, recipient: str | None = None, javascript: bool = True, **typed) -> str | None:
        """获取验证码 on the current page, for `identifier` (its email or username); returns the code mailed
        to `recipient` (None without one). With JavaScript as app.js does (POST /codes/send, the page
        stays); without, the page's own form with what was `typed`, re-rendered with the outcome."""
        page, before = self.page, self.mail_count(recipient)
        button = page.find("[data-code-send]")
        if button is None:
            raise FlowError(f"{page.url} offers no 获取验证码")
        if javascript:
            data = {"purpose": button["data-purpose"], "identifier": identifier}
            answer = self.browser.send(page, button["data-endpoint"], data)
            if answer.status != 200 or not answer.json.get("ok"):
                raise FlowError(f"获取验证码 refused: {answer.status} {answer.text[:200]}")
        else:
            data = {**typed, page.field(button["data-source"])["name"]: identifier, "send_code": "1"}
            self.at(self.browser.submit(page, data).expect(200))
            if self.page.code_status.state != "ok":
                raise FlowError(f"获取验证码 refused: {self.page.code_status.text}")
        return self.read_code(recipient, before) if recipient else None

    def mail_count(self, recipient: str | None) -> int:
        return len(self.mailbox.messages(to=recipient)) if recipient else 0

    def read_code(self, recipient: str, before: int = 0) -> str:
        """The code in the newest mail to `recipient`, waiting for it to arrive (a worker may send it)."""
        deadline = time.monotonic() + self.mail_timeout
        while self.mail_count(recipient) <= before:
            if time.monotonic() > deadline:
                raise FlowError(f"no code mailed to {recipient}")
            time.sleep(0.02)
        return self.mailbox.last_code(recipient)

    # ---- R1-R3: registration ----

    def register_basic(self, account: NewAccount) -> Page:
        """R1 基本信息 with the email's code, 下一步: R2."""
        self.on("/register/basic")
        code = self.send_code(account.email, account.email)
        page = self.browser.submit(self.page, {**account.basic_info(), "code": code}, action="/register/basic")
        return self.redirected(page, "/register/company")

    def register_company(self, company_name: str, **more: str) -> Page:
        """R2 企业信息, the agreement, 注册: the Guance account exists; R3."""
        data = {"company_name": company_name, "agreement": "y", **more}
        return self.redirected(self.browser.submit("/register/company", data), "/register/activation")

    def register_activation(
        self, workspace_name: str, language: str = "zh", style: str = "ops", create_billing_account: bool = True
    ) -> Page:
        """R3 阿里云市场开通, 开通: with 同步创建费用中心账号, activated at once (S1); without, B0's pointer."""
        data = {"method": "aliyun", "workspace_name": workspace_name, "workspace_language": language,
                "workspace_style": style, "agreement": "y"}  # fmt: skip
        if create_billing_account:
            data["create_billing_account"] = "y"
        target = "/activate/success" if create_billing_account else "/register/finished"
        return self.redirected(self.browser.submit("/register/activation", data), target)

    # ---- B1-B3: binding ----

    def bind_billing(self, username: str, email: str) -> Page:
        """B1: the billing-center account's username, the code mailed to its address, 绑定: B2."""
        self.on("/bind/billing")
        code = self.send_code(username, email)
        page = self.browser.submit(self.page, {"username": username, "code": code}, action="/bind/billing")
        return self.redirected(page, "/bind/workspaces")

    def bind_workspace(self, workspace: int | None = None) -> Page:
        """B2: 绑定 on `workspace`'s row (default: the first one offered), bound at once: B3."""
        b2 = self.on("/bind/workspaces")
        action = f"/bind/workspaces/{workspace}" if workspace is not None else None
        if action is None:
            form = b2.find("form[action^='/bind/workspaces/']")
            if form is None:
                raise FlowError("B2 offers no workspace to bind")
            action = form["action"]
        return self.redirected(self.browser.submit(b2, action=action), "/bind/workspaces")

    def create_workspace(self, tab: str, email: str, name: str, language: str = "zh", **fields: str) -> Page:
        """B2a-c: the tab ("existing": 有观测云账号, "register": 没有), 获取验证码 for `email`, 创建: B3."""
        url = f"/workspace/new?tab={tab}"
        self.on(url)
        code = self.send_code(email, email)
        data = {"name": name, "language": language, "email": email, "agreement": "y", "code": code, **fields}
        return self.redirected(self.browser.submit(self.page, data, action=url), "/bind/workspaces")

    def finish(self) -> Page:
        """B3 确定, then S1 开通成功."""
        self.page.link("a[href='/activate/success']")
        success = self.at(self.browser.get("/activate/success").expect(200))
        if success.find(".success-card") is None:
            raise FlowError("S1 does not show the success card")
        return success

    # ---- L1 ----

    def log_in(self, username: str, password: str, site: str = SITE, lands: str = "/console/") -> Page:
        """L1 /login/pwd: 站点, 用户名, 密码, 登录; lands on the console (or a lock page)."""
        data = {"site": site, "username": username, "password": password}
        return self.redirected(self.browser.submit("/login/pwd", data), lands)
