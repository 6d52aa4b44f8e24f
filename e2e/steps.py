"""What a customer does in the browser, one step at a time; language-neutral (ids, names, links).

The steps are named as the customer driver's (devtools/customer.py: buy, login_free, buy_and_enter,
choose, send_code, bind_billing, bind_workspace, finish, log_in), which walks the same flow over
HTTP for the unit tests, the hardening suite and the benchmark.

Shared by the documentation walkthrough (both languages) and the behaviour tests. The page's base
URL is the Guance side; `market` is the marketplace simulator's address, another origin.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

MAIN_BUTTON = "input[type=submit][name=submit]"  # a form's main button (WTForms SubmitField)
PAGE_FORM = "main form:not(.site-switch)"  # the page's own form, not the 站点 selector beside it


def submit(page: Page, scope=None) -> None:
    """Press the main button of `scope` (a dialog), or of the page's own form."""
    if scope is not None:
        scope.locator(MAIN_BUTTON).click()
    else:
        page.locator(f"{PAGE_FORM} {MAIN_BUTTON}").click()


def buy(page: Page, market: str, ali_uid: str, shoot=None) -> None:
    """M1 立即开通 → M2 (agreement) 开通 → M3 确认 → M4 已购买的服务, signed in to the simulator as `ali_uid`."""
    page.goto(f"{market}/?aliUid={ali_uid}")
    if shoot:
        shoot("2-commercial-1107")
    page.locator("a[href='/activate']").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#agreement").check()
    if shoot:
        shoot("3-commercial-1107")
    submit(page, dialog)
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("a[href='/instances']")).to_be_visible()
    if shoot:
        shoot("4-commercial-1107")
    dialog.locator("a[href='/instances']").click()
    expect(page.locator("tbody tr").first.locator("a[href$='/login-free']")).to_be_visible()
    if shoot:
        shoot("10.aliyun_market_1")


def login_free(page: Page, market: str) -> None:
    """免登 on the newest instance of 已购买的服务: the browser crosses to the Guance side."""
    page.goto(f"{market}/instances")
    page.locator("tbody tr").first.locator("a[href$='/login-free']").click()
    page.wait_for_url(lambda url: not url.startswith(market))


def buy_and_enter(page: Page, market: str, ali_uid: str) -> None:
    buy(page, market, ali_uid)
    login_free(page, market)


def choose(page: Page, path: str) -> None:
    """G1: path is "register" (没有费用中心账号) or "bind" (有费用中心账号)."""
    page.locator(f"input[name=path][value={path}]").check()
    submit(page)


def send_code(page: Page, smtp, email: str) -> None:
    """获取验证码 (with JavaScript: no reload), read the mail from the SMTP sink, type the code."""
    page.locator("#send_code").click()
    expect(page.locator("#code-status.code-status-ok")).to_be_visible()
    page.locator("#code").fill(smtp.last_code(email))


def dismiss_guide(page: Page) -> None:
    guide = page.get_by_role("dialog")
    expect(guide).to_be_visible()
    submit(page, guide)
    expect(guide).to_be_hidden()


def bind_billing(page: Page, smtp, username: str, email: str, shoot=None) -> None:
    """B1: the billing-center username and the code mailed to its address."""
    page.locator("#username").fill(username)
    send_code(page, smtp, email)
    if shoot:
        shoot("10.market_aliyun_1")
    submit(page)
    expect(page).to_have_url(re.compile(r"/bind/workspaces$"))


def reach_workspace_creation(page: Page, market: str, smtp, ali_uid: str) -> None:
    """Buy, 免登, 有费用中心账号, bind the demo billing-center account that has no workspace, B2a."""
    buy_and_enter(page, market, ali_uid)
    choose(page, "bind")
    dismiss_guide(page)
    bind_billing(page, smtp, "demo_billing_empty", "empty@demo.guance.example")
    page.locator("a[href='/workspace/new']").click()


def bind_workspace(page: Page, name: str) -> None:
    """B2: 绑定 on the workspace's row binds it (one step); B3 says so."""
    page.get_by_role("row").filter(has_text=name).get_by_role("button").click()
    expect(page.locator(".flash-success")).to_be_visible()


def password_verdict_shown(page: Page) -> None:
    """The live strength meter answers once typing pauses: wait for its verdict (the page's height
    depends on it, so a screenshot taken before would differ from run to run). The verdict is a server
    round trip after a pause in typing: a loaded machine takes longer than expect's default 5 s."""
    expect(page.locator("[data-password-meter] [data-strength-text]")).not_to_be_empty(timeout=20_000)


def fill_new_account(page: Page, smtp, username: str, password: str, email: str, phone: str = "") -> None:
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#confirm").fill(password)
    page.locator("#email").fill(email)
    send_code(page, smtp, email)
    if phone:
        page.locator("#phone").fill(phone)
    password_verdict_shown(page)


def finish(page: Page, shoot=None) -> None:
    """B3 确定, then S1 开通成功."""
    page.locator("a[href='/activate/success']").click()
    expect(page.locator(".success-card")).to_be_visible()
    if shoot:
        shoot("15.aliyun_register_7")


def finish_and_log_in(page: Page, username: str, password: str, shoot=None) -> None:
    """B3 确定 → S1 确定 → L1 → the console."""
    finish(page, shoot)
    log_in_from_success(page, username, password)


def log_in_from_success(page: Page, username: str, password: str) -> None:
    page.locator("a[href^='/login/pwd']").click()
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    submit(page)
    expect(page).to_have_url(re.compile(r"/console/$"))


def log_in(page: Page, username: str, password: str) -> None:
    """L1 from its URL; a login lands on the console, or on the lock page of a workspace counting down."""
    page.goto("/login/pwd")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    submit(page)
    expect(page).to_have_url(re.compile(r"/console/"))


def simulate(page: Page, market: str, operation: str) -> None:
    """已购买的服务's 模拟操作 menu on the newest instance: a lifecycle call as Alibaba Cloud would make it."""
    page.goto(f"{market}/instances")
    row = page.locator("tbody tr").first
    row.locator("details.sim-menu summary").click()
    row.locator(f"form[action$='/{operation}'] button").click()
    expect(page.locator(".flash-success")).to_be_visible()


def login_free_for(page: Page, market: str, ali_uid: str) -> None:
    """免登 again later, as the buyer `ali_uid`."""
    page.goto(f"{market}/?aliUid={ali_uid}")
    login_free(page, market)


def ops_sign_in(page: Page, username: str, password: str, code, shoot=None) -> None:
    """The operators' console: the password, then the TOTP code (`code()` gives the one of this moment);
    a first sign-in shows the enrolment QR code, shot as `ops-enrol` when `shoot` is given."""
    page.goto("/ops/")
    expect(page).to_have_url(re.compile(r"/ops/login"))
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    submit(page)
    expect(page).to_have_url(re.compile(r"/ops/login/totp"))
    if shoot:
        expect(page.locator("img.totp-qr")).to_have_js_property("complete", True)  # the QR code drawn
        shoot("ops-enrol")
    page.locator("#code").fill(code())
    submit(page)
    expect(page).to_have_url(re.compile(r"/ops/$"))
