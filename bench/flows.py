"""Whole activations, one function per branch, walked page by page as a browser with JavaScript would.

Each step checks where the product sent the customer; anything else raises FlowError, so an
activation counts only when the customer really reached S1 (and, where an account was created,
logged in with it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .browser import Browser, FlowError, csrf_token, location
from .customers import PASSWORD, SITE, Customer
from .mail import Inbox
from .market import create_instance_path, login_free_path

_BIND_FORM = re.compile(r'action="/bind/workspaces/(\d+)"')


@dataclass(frozen=True)
class Marketplace:
    """What the customer's side of the run needs: the ISV key to sign as Alibaba Cloud, the inbox."""

    isv_key: str
    inbox: Inbox


def expect_at(response, path: str) -> None:
    if location(response) != path:
        raise FlowError(f"sent to {location(response)}, expected {path}")


# ---- Steps shared by the branches ----


def arrive(browser: Browser, customer: Customer, market: Marketplace):
    """开通 on the marketplace (SPI createInstance), then 免登 (verify) to G1; returns G1."""
    answer = browser.get(
        create_instance_path(market.isv_key, customer.ali_uid, customer.order_biz_id),
        route="GET /spi?action=createInstance",
    ).json()
    if answer.get("instanceId") != customer.order_biz_id:
        raise FlowError(f"createInstance answered {answer}")
    entry = browser.get(
        login_free_path(market.isv_key, customer.order_biz_id), expect=302, route="GET /spi?action=verify"
    )
    expect_at(entry, "/activate/")
    return browser.follow(entry)


def choose(browser: Browser, g1, path: str, target: str):
    """G1: 有/没有费用中心账号, 下一步."""
    chosen = browser.submit(g1, "/activate/", {"path": path})
    expect_at(chosen, target)
    return browser.follow(chosen)


def send_code(browser: Browser, page, purpose: str, identifier: str) -> None:
    """获取验证码 as app.js sends it: POST /codes/send with the page's CSRF token in X-CSRFToken."""
    answer = browser.post(
        "/codes/send",
        expect=200,
        data={"purpose": purpose, "identifier": identifier},
        headers={"X-CSRFToken": csrf_token(page.text), "Accept": "application/json"},
    )
    if not answer.json().get("ok"):
        raise FlowError(f"获取验证码 refused: {answer.json()}")


def bind_billing(browser: Browser, customer: Customer, market: Marketplace, b1):
    """B1: 获取验证码 for the username, read the mail, 绑定; returns B2."""
    send_code(browser, b1, "bind_billing", customer.billing_username)
    code = market.inbox.take_code(customer.billing_email)
    bound = browser.submit(b1, "/bind/billing", {"username": customer.billing_username, "code": code})
    expect_at(bound, "/bind/workspaces")
    return browser.follow(bound)


def reach_b2(browser: Browser, customer: Customer, market: Marketplace):
    """免登, G1 有费用中心账号, B1: the Aliyun account is bound; returns B2."""
    g1 = arrive(browser, customer, market)
    b1 = choose(browser, g1, "bind", "/bind/billing")
    return bind_billing(browser, customer, market, b1)


def confirm_and_bind(browser: Browser, b2) -> None:
    """B2 绑定 on the first workspace (one step); back on B2 it is bound (B3)."""
    match = _BIND_FORM.search(b2.text)
    if match is None:
        raise FlowError("B2 offers no workspace to bind")
    workspace = match.group(1)
    bound = browser.submit(b2, f"/bind/workspaces/{workspace}", {})
    expect_at(bound, "/bind/workspaces")
    finish(browser, browser.follow(bound))


def finish(browser: Browser, b3) -> None:
    """B3 确定, then S1 开通成功."""
    if "/activate/success" not in b3.text:
        raise FlowError("B3 shows no 确定 to the success page")
    success = browser.get("/activate/success")
    if "开通成功" not in success.text:
        raise FlowError("S1 does not say 开通成功")


def create_workspace(browser: Browser, tab: str, purpose: str, email: str, market: Marketplace, fields: dict):
    """B2a-c: the tab's form, 获取验证码 for its email, 创建; returns B3."""
    page = browser.get(f"/workspace/new?tab={tab}")
    send_code(browser, page, purpose, email)
    data = {
        "name": "性能测试空间",
        "language": "zh",
        "email": email,
        "agreement": "y",
        "code": market.inbox.take_code(email),
        **fields,
    }
    created = browser.submit(page, f"/workspace/new?tab={tab}", data)
    expect_at(created, "/bind/workspaces")
    return browser.follow(created)


def log_in(browser: Browser, username: str) -> None:
    """L1 with the new credentials, then the console shows the workspace."""
    page = browser.get("/login/pwd")
    entered = browser.submit(page, "/login/pwd", {"site": SITE, "username": username, "password": PASSWORD})
    expect_at(entered, "/console/")
    console = browser.follow(entered)
    if "商业版" not in console.text:
        raise FlowError("the console does not show the Commercial Edition workspace")


# ---- The branches ----


def bind_existing(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """有费用中心账号: bind the billing-center account, then one of its workspaces."""
    confirm_and_bind(browser, reach_b2(browser, customer, market))


def create_with_existing_account(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """B2b: the billing-center account has no workspace; create one owned by an existing Guance account."""
    reach_b2(browser, customer, market)
    b3 = create_workspace(browser, "existing", "create_workspace", customer.owner_email, market, {"style": "ops"})
    finish(browser, b3)


def register_workspace(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """B2c: register a Guance account and its workspace, then log in with it."""
    reach_b2(browser, customer, market)
    fields = {"username": customer.new_username, "password": PASSWORD, "confirm": PASSWORD, "phone": "13800138000"}
    b3 = create_workspace(browser, "register", "register_workspace", customer.new_email, market, fields)
    finish(browser, b3)
    log_in(browser, customer.new_username)


def register_basic(browser: Browser, customer: Customer, market: Marketplace, r1):
    """R1 基本信息 with the email's code; returns R2."""
    send_code(browser, r1, "register", customer.new_email)
    data = {
        "site": SITE,
        "username": customer.new_username,
        "password": PASSWORD,
        "confirm": PASSWORD,
        "email": customer.new_email,
        "phone": "13800138000",
        "code": market.inbox.take_code(customer.new_email),
    }
    saved = browser.submit(r1, "/register/basic", data)
    expect_at(saved, "/register/company")
    return browser.follow(saved)


def register_company(browser: Browser, r2):
    """R2 企业信息, 注册: the Guance account exists; returns R3."""
    registered = browser.submit(r2, "/register/company", {"company_name": "性能测试有限公司", "agreement": "y"})
    expect_at(registered, "/register/activation")
    return browser.follow(registered)


def register_activation(browser: Browser, r3) -> None:
    """R3 阿里云市场开通 with 同步创建费用中心账号: activated in one go, S1."""
    data = {
        "method": "aliyun",
        "workspace_name": "性能测试空间",
        "workspace_language": "zh",
        "workspace_style": "ops",
        "create_billing_account": "y",
        "agreement": "y",
    }
    activated = browser.submit(r3, "/register/activation", data)
    expect_at(activated, "/activate/success")
    if "开通成功" not in browser.follow(activated).text:
        raise FlowError("S1 does not say 开通成功")


def register(browser: Browser, customer: Customer, market: Marketplace) -> None:
    """没有费用中心账号: R1, R2, R3, then log in with the new account."""
    g1 = arrive(browser, customer, market)
    r1 = choose(browser, g1, "register", "/register/basic")
    register_activation(browser, register_company(browser, register_basic(browser, customer, market, r1)))
    log_in(browser, customer.new_username)


BRANCH_FLOWS = {
    "bind": bind_existing,
    "create": create_with_existing_account,
    "register_workspace": register_workspace,
    "register": register,
}
