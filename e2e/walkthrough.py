"""The documented walkthrough in Chromium: every branch, every documented screenshot.

e2e/test_docs_zh.py and e2e/test_docs_en.py run it, one language each (so they can run in
parallel). Each language gets a fresh server with the demo data, a server clock that starts at the same
moment and fixed verification codes, so a rerun takes the same pictures: each is compared with the
committed one (e2e/visual.py), and a visible change fails the test unless UPDATE_SCREENSHOTS=1 (`make
screenshots`). Codes are still read from the real SMTP sink. In Chinese, axe-core checks every page on the way.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from alibabacloud_tea_openapi.utils import Utils
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from marketplace import clock as market_clock
from tests.activation import add_billing_account
from wizard import clock
from wizard.extensions import one_transaction
from wizard.services import codes
from wizard.services.ops import operators

from . import steps, visual
from .conftest import SCREENSHOTS, VIEWPORT, LiveServer
from .guide import SCREENSHOTS as DOCUMENTED

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DEMO_PASSWORD = "Guance-Demo-2026"
OPS_PASSWORD = "Night-Shift-Harbour-47"
BROWSER_LOCALES = {"zh": "zh-CN", "en": "en-US"}
SERIOUS = {"serious", "critical"}


class ServerClock:
    """Starts at START and ticks in real time; `advance` jumps over cooldowns between customers; `at` holds
    it at a given (later) moment for a while, so what happens then shows the same time in every run."""

    def __init__(self) -> None:
        self.began, self.offset, self.held = time.monotonic(), timedelta(), None

    def now(self) -> datetime:
        return self.held or START + self.offset + timedelta(seconds=time.monotonic() - self.began)

    def advance(self, minutes: int) -> None:
        self.offset += timedelta(minutes=minutes)

    @contextmanager
    def at(self, moment: datetime):
        assert moment > self.now(), "the server clock never goes back"
        self.held = moment
        try:
            yield
        finally:
            self.held = None
            self.offset += moment - self.now()  # ticks on from the moment it was held at


class Walkthrough:
    def __init__(self, language: str, server: LiveServer, server_clock: ServerClock) -> None:
        self.language, self.server, self.clock = language, server, server_clock
        self.taken: set[str] = set()
        self.violations: list[str] = []
        self.changed: list[str] = []  # screenshots that differ from the committed ones (e2e/visual.py)
        self.audited: set[str] = set()


@pytest.fixture(scope="module")
def walkthrough(request, tmp_path_factory, live_smtp):
    language = request.module.LANGUAGE
    server_clock = ServerClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", server_clock.now)
        patch.setattr(market_clock, "now", server_clock.now)
        patch.setattr(codes, "code_for", lambda *_seed: "246810")
        # The SDK signs with its own clock; the marketplace checks it against the server clock.
        patch.setattr(Utils, "get_timestamp", staticmethod(lambda: server_clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")))
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
    server = walkthrough.server
    context.add_cookies(
        [
            {"name": "lang", "value": walkthrough.language, "url": server.url},
            {"name": "aliyun_market_lang", "value": walkthrough.language, "url": server.market_url},
        ]
    )
    context.clock.set_fixed_time(START)
    page = context.new_page()
    walkthrough.clock.advance(minutes=5)  # every customer starts clear of the previous one's cooldowns
    yield page
    context.close()


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shoot_phone(page: Page, shoot):
    """The page as a phone shows it (390 px wide): the page fits (e2e/test_phone.py asserts it for every
    page), then a documented screenshot; the desktop size comes back after."""

    def save(name: str) -> None:
        page.set_viewport_size(PHONE)
        try:
            assert fits_a_phone(page), f"{name}: the page scrolls sideways at 390 px"
            shoot(name)
        finally:
            page.set_viewport_size(VIEWPORT)

    return save


@pytest.fixture
def shoot(page: Page, walkthrough: Walkthrough):
    """Take a documented screenshot in the walkthrough's language, audit the page (in Chinese), and compare
    the picture with the committed one (e2e/visual.py; UPDATE_SCREENSHOTS=1 replaces it instead)."""
    axe = Axe()

    def save(name: str, target=None) -> None:
        page.evaluate("document.fonts.ready.then(() => true)")  # CJK glyphs drawn, not boxes
        options = {"full_page": True} if target is None else {}
        # 获取验证码's countdown ticks by itself (59s on a loaded machine): left out of the comparison.
        ignored = [document_box(page, button) for button in page.locator(".code-send:visible").all()]
        ignored = ignored if target is None else []
        png = (target or page).screenshot(animations="disabled", caret="hide", **options)
        walkthrough.taken.add(name)
        if walkthrough.language == "zh" and page.url not in walkthrough.audited:
            walkthrough.audited.add(page.url)
            audit(axe, page, name, walkthrough.violations)
        if change := visual.check(SCREENSHOTS / walkthrough.language / f"{name}.png", png, ignored):
            walkthrough.changed.append(change)

    return save


def document_box(page: Page, part) -> tuple[int, int, int, int]:
    """A part's box in the full page's coordinates (left, top, right, bottom)."""
    box = part.bounding_box()
    x, y = page.evaluate("[window.scrollX, window.scrollY]")
    left, top = int(box["x"] + x), int(box["y"] + y)
    return left, top, left + int(box["width"]) + 1, top + int(box["height"]) + 1


def audit(axe: Axe, page: Page, where: str, found: list[str]) -> None:
    for violation in axe.run(page).response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [node["target"] for node in violation["nodes"]]
            found.append(f"{where} ({page.url}): {violation['id']} {violation['help']} {targets}")


def test_purchase_and_the_registration_path(page: Page, shoot, shoot_phone, walkthrough, live_smtp):
    market = walkthrough.server.market_url
    steps.buy(page, market, "1380000000000001", shoot)
    shoot_phone("phone-instances")
    steps.login_free(page, market)
    expect(page.locator("#process-diagram")).to_be_visible()
    shoot("10.aliyun_market_2")
    shoot("17.process_1", target=page.locator("#process-diagram"))
    shoot_phone("phone-choose")
    steps.choose(page, "register")
    page.locator("#username").fill("acme_ops")
    page.locator("#password").fill("Acme-Ops-Lantern-26")
    page.locator("#confirm").fill("Acme-Ops-Lantern-26")
    page.locator("#email").fill("ops@acme-demo.example")
    page.locator("#phone").fill("13800138000")
    steps.send_code(page, live_smtp, "ops@acme-demo.example")
    steps.password_verdict_shown(page)
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


def test_bind_an_existing_workspace(page: Page, shoot, shoot_phone, walkthrough, live_smtp):
    steps.buy_and_enter(page, walkthrough.server.market_url, "1380000000000002")
    steps.choose(page, "bind")
    shoot("15.aliyun_register_1")
    steps.dismiss_guide(page)
    steps.bind_billing(page, live_smtp, "demo_billing", "billing@demo.guance.example", shoot)
    shoot("15.aliyun_register_6.1")
    shoot_phone("phone-workspaces")
    steps.bind_workspace(page, "生产环境监控")
    expect(page.locator("a[href='/activate/success']")).to_be_visible()
    shoot("15.aliyun_register_6")
    steps.finish_and_log_in(page, "demo_owner", DEMO_PASSWORD, shoot)
    shoot("1-free-start-1109")
    shoot_phone("phone-console")
    page.locator("a[href='/console/datakit']").first.click()
    command = page.locator("section.datakit-workspace").filter(has_text="生产环境监控").locator("pre.command")
    expect(command).to_contain_text(re.compile(r"DK_DATAWAY=\"https://openway\.guance\.com\?token=tkn_[0-9a-f]{32}\""))


def test_create_a_workspace_with_an_existing_guance_account(page: Page, shoot, walkthrough, live_smtp):
    steps.reach_workspace_creation(page, walkthrough.server.market_url, live_smtp, "1380000000000006")
    shoot("1-1-commercial-aliyun")
    page.locator("#name").fill("Demo Workspace")
    page.locator("#language-1").check()
    page.locator("#style").select_option("dev")
    page.locator("#email").fill("solo@demo.guance.example")
    steps.send_code(page, live_smtp, "solo@demo.guance.example")
    page.locator("#agreement").check()
    shoot("15.aliyun_register_5")
    steps.submit(page)
    expect(page.get_by_role("row").filter(has_text="Demo Workspace").locator(".badge-success")).to_be_visible()
    steps.finish_and_log_in(page, "demo_solo", DEMO_PASSWORD)


def test_register_a_guance_account_and_create_a_workspace(page: Page, shoot, walkthrough, live_smtp):
    steps.reach_workspace_creation(page, walkthrough.server.market_url, live_smtp, "1380000000000005")
    page.locator("a[href$='tab=register']").click()
    shoot("1-2-commercial-aliyun")
    page.locator("#name").fill("New Customer")
    steps.fill_new_account(page, live_smtp, "newcomer", "Newcomer-Harbor-26", "newcomer@example.com", "13800138000")
    page.locator("#agreement").check()
    shoot("15.aliyun_register_3")
    steps.submit(page)
    expect(page.get_by_role("row").filter(has_text="New Customer").locator(".badge-success")).to_be_visible()
    steps.finish_and_log_in(page, "newcomer", "Newcomer-Harbor-26")


def test_coming_back_after_activation_opens_the_login_with_the_owner_filled_in(page: Page, walkthrough):
    steps.login_free_for(page, walkthrough.server.market_url, "1380000000000002")
    expect(page).to_have_url(re.compile(r"/login/pwd\?site=cn1&username=demo_owner$"))
    expect(page.locator("#username")).to_have_value("demo_owner")


def fits_a_phone(page: Page) -> bool:
    """At 390 px wide the page itself does not scroll sideways (wide tables scroll in their own box)."""
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def test_metered_usage_in_the_console_and_the_bill(page: Page, shoot, walkthrough):
    server = walkthrough.server
    pushed = server.app.test_cli_runner().invoke(args=["metering", "push"])  # the periodic job's round
    assert pushed.exit_code == 0 and "failed 0" in pushed.output, pushed.output

    page.goto("/login/pwd")
    page.locator("#username").fill("demo_owner")
    page.locator("#password").fill(DEMO_PASSWORD)
    steps.submit(page)
    usage = page.locator("article").filter(has_text="计量演示").locator("section.usage")
    expect(usage.locator("tr[data-status=pushed]").first).to_be_visible()
    expect(usage.locator("tr[data-status=failed]")).to_have_count(0)
    shoot("metering-console", target=usage)
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_a_phone(page)

    market = server.market_url
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{market}/?aliUid=1380000000000004")
    page.goto(f"{market}/instances")
    page.locator("tbody tr").first.locator("a[href$='/bill']").click()
    expect(page.locator("#bill-total")).not_to_have_text("¥0.00")
    expect(page.locator("table.bill-lines tbody tr")).to_have_count(48)
    shoot("metering-bill")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_a_phone(page)
    expect(page.locator(".scroll-hint").first).to_be_visible()  # says the table scrolls sideways
    expect(page.locator(".table-wrap[tabindex='0']").first).to_be_visible()  # ... by keyboard too


def test_after_expiry_the_lock_countdown_and_unlocking_by_renewal(page: Page, shoot, walkthrough):
    """Buyer C (already settled through demo_billing) binds Staging; the instance expires; 免登 shows the lock
    page, demo_owner's console the banner; 立即解锁 → 续费 in the marketplace unlocks it."""
    market = walkthrough.server.market_url
    steps.buy_and_enter(page, market, "1380000000000003")
    steps.dismiss_guide(page)
    steps.bind_workspace(page, "Staging")
    with walkthrough.clock.at(START + timedelta(hours=2)):  # the countdown's dates, the same in every run
        steps.simulate(page, market, "expire")
    steps.login_free(page, market)
    expect(page).to_have_url(re.compile(r"/lock$"))
    expect(page.locator("h1")).to_contain_text("14")
    shoot("x1-lock-page")
    steps.log_in(page, "demo_owner", DEMO_PASSWORD)
    page.goto("/console/")
    expect(page.locator(".lock-banner")).to_contain_text("Staging")
    shoot("x1-lock-banner")
    page.locator(".lock-banner a[href^='/unlock/']").click()
    expect(page).to_have_url(re.compile(r"/unlock/$"))
    shoot("x3-unlock-choices")
    page.locator(f"a[href^='{market}/instances?instanceId=']").click()
    page.locator(".renew-callout button[type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    steps.login_free(page, market)  # unlocked, and demo_owner is signed in here: the console
    expect(page).to_have_url(re.compile(r"/console/$"))


OPS_BUYER = "1380000000000007"
OPS_SECRET = "QAOPSWALKTHROUGHSECRETKEY234567A"  # a fixed TOTP secret: the enrolment QR code is the same each run


def test_the_operators_console_its_timeline_and_funnel(page: Page, shoot, walkthrough, live_smtp):
    """An operator created from the command line enrols a TOTP app at the first sign-in, finds a buyer by
    aliUid, reads the instance's timeline (every step of its activation, in order) and the activation funnel
    of the walkthrough's customers. The buyer's steps happen at held moments, so the times are the same each run."""
    server, market = walkthrough.server, walkthrough.server.market_url
    with server.app.app_context():
        add_billing_account("qa_billing", "qa-billing@e2e.example", ("运维演示",), "qa_owner")
        with one_transaction():  # as `flask ops create-operator` does it
            operators.create("qa_ops", OPS_PASSWORD, OPS_SECRET)
    began = START + timedelta(hours=3)  # after every earlier moment of the walkthrough (the lock: 2 hours)
    with walkthrough.clock.at(began):
        steps.buy(page, market, OPS_BUYER)
    with walkthrough.clock.at(began + timedelta(minutes=1)):
        steps.login_free(page, market)
    with walkthrough.clock.at(began + timedelta(minutes=3)):
        steps.choose(page, "bind")
        steps.dismiss_guide(page)
    with walkthrough.clock.at(began + timedelta(minutes=6)):
        steps.bind_billing(page, live_smtp, "qa_billing", "qa-billing@e2e.example")
    with walkthrough.clock.at(began + timedelta(minutes=8)):
        steps.bind_workspace(page, "运维演示")
        expect(page.locator("a[href='/activate/success']")).to_be_visible()

    code = lambda: pyotp.TOTP(OPS_SECRET).at(walkthrough.clock.now())  # noqa: E731  (the authenticator app)
    steps.ops_sign_in(page, "qa_ops", OPS_PASSWORD, code, shoot)
    page.locator("#q").fill(OPS_BUYER)
    page.locator("#field").select_option("ali_uid")
    page.locator("form.ops-filters button[type=submit]").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("运维演示")
    shoot("ops-instances")

    rows.first.locator("a").first.click()
    timeline = page.locator("ol.timeline > li")
    kinds = timeline.evaluate_all("items => items.map(item => item.dataset.kind)")
    assert kinds[0] == "spi" and {"login_free", "step", "binding"} <= set(kinds), kinds
    expect(page.locator("ol.timeline")).not_to_contain_text("token=")  # parameters minus the token
    activated = "开通成功" if walkthrough.language == "zh" else "Activated successfully"
    expect(timeline.filter(has_text=activated)).to_have_count(1)
    shoot("ops-timeline")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_a_phone(page)
    page.set_viewport_size(VIEWPORT)

    page.locator("nav.ops-nav a[href='/ops/funnel']").click()
    bars = page.locator("svg.funnel-svg rect.funnel-bar")
    expect(bars).to_have_count(10)
    reached = page.locator("table.funnel-table tbody tr").last.locator("td").first
    assert int(reached.inner_text()) >= 1  # this buyer at least; every activated customer of the walk
    shoot("ops-funnel")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_a_phone(page)


def test_every_documented_screenshot_was_taken_unchanged_and_every_page_is_accessible(walkthrough, browser_name):
    # browser_name keeps this test in the module's browser group, so it runs after the walkthrough.
    assert sorted(DOCUMENTED) == sorted(walkthrough.taken)
    assert not walkthrough.changed, "screenshots changed (run `make screenshots` if intended):\n" + "\n".join(
        walkthrough.changed
    )
    assert not walkthrough.violations, "\n".join(walkthrough.violations)
