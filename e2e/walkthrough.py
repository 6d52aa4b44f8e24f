"""The documented walkthrough in Chromium: every branch, every documented screenshot.

e2e/test_docs_zh.py and e2e/test_docs_en.py run it, one language each (so they can run in
parallel). Each language gets a fresh server with the demo data, a server clock that starts at the same
moment and fixed verification codes, so a rerun takes the same pictures. Codes are still read from
the real SMTP sink. In Chinese, axe-core checks every page on the way.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from wizard import clock
from wizard.services import codes

from . import steps
from .conftest import SCREENSHOTS, VIEWPORT, LiveServer
from .guide import SCREENSHOTS as DOCUMENTED

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DEMO_PASSWORD = "Guance-Demo-2026"
BROWSER_LOCALES = {"zh": "zh-CN", "en": "en-US"}
SERIOUS = {"serious", "critical"}


class ServerClock:
    """Starts at START and ticks in real time; `advance` jumps over cooldowns between customers."""

    def __init__(self) -> None:
        self.began, self.offset = time.monotonic(), timedelta()

    def now(self) -> datetime:
        return START + self.offset + timedelta(seconds=time.monotonic() - self.began)

    def advance(self, minutes: int) -> None:
        self.offset += timedelta(minutes=minutes)


class Walkthrough:
    def __init__(self, language: str, server: LiveServer, server_clock: ServerClock) -> None:
        self.language, self.server, self.clock = language, server, server_clock
        self.taken: set[str] = set()
        self.violations: list[str] = []
        self.audited: set[str] = set()


@pytest.fixture(scope="module")
def walkthrough(request, tmp_path_factory, live_smtp):
    language = request.module.LANGUAGE
    server_clock = ServerClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", server_clock.now)
        patch.setattr(codes, "new_code", lambda: "246810")
        server = LiveServer(tmp_path_factory.mktemp(f"docs-{language}"), live_smtp)
        yield Walkthrough(language, server, server_clock)
        server.stop()


@pytest.fixture
def page(browser, walkthrough):
    """A fresh browser in the walkthrough's language; the page's Date.now() holds still, so 获取验证码's
    countdown (computed from a deadline) shows the same number in every run."""
    context = browser.new_context(
        base_url=walkthrough.server.url,
        viewport=VIEWPORT,
        locale=BROWSER_LOCALES[walkthrough.language],
        timezone_id="Asia/Shanghai",
    )
    context.add_cookies([{"name": "lang", "value": walkthrough.language, "url": walkthrough.server.url}])
    context.clock.set_fixed_time(START)
    page = context.new_page()
    walkthrough.clock.advance(minutes=5)  # every customer starts clear of the previous one's cooldowns
    yield page
    context.close()


@pytest.fixture
def shoot(page: Page, walkthrough: Walkthrough):
    """Save a documented screenshot in the walkthrough's language, and audit the page (in Chinese)."""
    axe = Axe()

    def save(name: str, target=None) -> None:
        page.evaluate("document.fonts.ready.then(() => true)")  # CJK glyphs drawn, not boxes
        path = SCREENSHOTS / walkthrough.language / f"{name}.png"
        options = {"full_page": True} if target is None else {}
        (target or page).screenshot(path=str(path), animations="disabled", caret="hide", **options)
        walkthrough.taken.add(name)
        if walkthrough.language == "zh" and page.url not in walkthrough.audited:
            walkthrough.audited.add(page.url)
            audit(axe, page, name, walkthrough.violations)

    return save


def audit(axe: Axe, page: Page, where: str, found: list[str]) -> None:
    for violation in axe.run(page).response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [node["target"] for node in violation["nodes"]]
            found.append(f"{where} ({page.url}): {violation['id']} {violation['help']} {targets}")


def test_purchase_and_the_registration_path(page: Page, shoot, walkthrough, live_smtp):
    steps.buy(page, "1380000000000001", shoot)
    steps.login_free(page)
    expect(page.locator("#process-diagram")).to_be_visible()
    shoot("10.aliyun_market_2")
    shoot("17.process_1", target=page.locator("#process-diagram"))
    steps.choose(page, "register")
    page.locator("#username").fill("acme_ops")
    page.locator("#password").fill("Acme-Ops-Lantern-26")
    page.locator("#confirm").fill("Acme-Ops-Lantern-26")
    page.locator("#email").fill("ops@acme-demo.example")
    page.locator("#phone").fill("13800138000")
    steps.get_code(page, live_smtp, "ops@acme-demo.example")
    shoot("10.aliyun_market_3")
    steps.submit(page)
    page.locator("#company_name").fill("Acme Demo Ltd.")
    page.locator("#agreement").check()
    steps.submit(page)
    expect(page.locator("#ali-uid")).to_have_value("1380000000000001")
    page.locator("#workspace_name").fill("Acme Production")
    page.locator("#agreement").check()
    steps.submit(page)
    steps.log_in_from_success(page, "acme_ops", "Acme-Ops-Lantern-26")
    expect(page.get_by_text("Acme Production").first).to_be_visible()


def test_bind_an_existing_workspace(page: Page, shoot, live_smtp):
    steps.buy_and_enter(page, "1380000000000002")
    steps.choose(page, "bind")
    shoot("15.aliyun_register_1")
    steps.dismiss_guide(page)
    steps.bind_billing(page, live_smtp, "demo_billing", "billing@demo.guance.example", shoot)
    shoot("15.aliyun_register_6.1")
    steps.bind_workspace(page, "生产环境监控")
    expect(page.locator("a[href='/activate/success']")).to_be_visible()
    shoot("15.aliyun_register_6")
    steps.finish_and_log_in(page, "demo_owner", DEMO_PASSWORD, shoot)
    shoot("1-free-start-1109")
    page.locator("a[href='/console/datakit']").first.click()
    expect(page.locator("pre.command")).to_be_visible()


def test_create_a_workspace_with_an_existing_guance_account(page: Page, shoot, live_smtp):
    steps.reach_workspace_creation(page, live_smtp, "1380000000000004")
    shoot("1-1-commercial-aliyun")
    page.locator("#name").fill("Demo Workspace")
    page.locator("#language-1").check()
    page.locator("#style").select_option("dev")
    page.locator("#email").fill("solo@demo.guance.example")
    steps.get_code(page, live_smtp, "solo@demo.guance.example")
    page.locator("#agreement").check()
    shoot("15.aliyun_register_5")
    steps.submit(page)
    expect(page.get_by_role("row").filter(has_text="Demo Workspace").locator(".badge-success")).to_be_visible()
    steps.finish_and_log_in(page, "demo_solo", DEMO_PASSWORD)


def test_register_a_guance_account_and_create_a_workspace(page: Page, shoot, live_smtp):
    steps.reach_workspace_creation(page, live_smtp, "1380000000000005")
    page.locator("a[href$='tab=register']").click()
    shoot("1-2-commercial-aliyun")
    page.locator("#name").fill("New Customer")
    steps.fill_new_account(page, live_smtp, "newcomer", "Newcomer-Harbor-26", "newcomer@example.com", "13800138000")
    page.locator("#agreement").check()
    shoot("15.aliyun_register_3")
    steps.submit(page)
    expect(page.get_by_role("row").filter(has_text="New Customer").locator(".badge-success")).to_be_visible()
    steps.finish_and_log_in(page, "newcomer", "Newcomer-Harbor-26")


def test_coming_back_after_activation_goes_to_success(page: Page):
    steps.login_free_for(page, "1380000000000002")
    expect(page).to_have_url(re.compile(r"/activate/success$"))


def test_every_documented_screenshot_was_taken_and_every_page_is_accessible(walkthrough, browser_name):
    # browser_name keeps this test in the module's browser group, so it runs after the walkthrough.
    assert sorted(DOCUMENTED) == sorted(walkthrough.taken)
    assert not walkthrough.violations, "\n".join(walkthrough.violations)
