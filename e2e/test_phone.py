"""Every page of the flow at phone size (390 x 844): the page itself never scrolls sideways, and every
button and link of the main content is on the screen (tables of records become stacked cards).

Both applications, both languages (English labels are the longer ones): M1, M4 (with its 模拟操作 menu
open), G1, R1, B0/B1, B2 (and its confirmation), B2a's two tabs, B3, S1, L1, the console, the
agreements and an error page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from . import steps

PHONE = {"width": 390, "height": 844}
OWNER_PASSWORD = "Acme-Owner-Lantern-42"  # tests.activation.add_billing_account's owner

# What a person would have to scroll sideways for: the page's own width, and each visible action of <main>.
MEASURE = """() => {
  const width = window.innerWidth, outside = [];
  for (const element of document.querySelectorAll(
      'main a, main button, main summary, main input:not([type=hidden]), main select, main textarea')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not rendered (a closed menu, a hidden input)
    if (box.left < -0.5 || box.right > width + 0.5) outside.push(element.outerHTML.slice(0, 100));
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, width, outside};
}"""


def assert_fits(page: Page, where: str) -> None:
    page.wait_for_load_state()  # the page a click led to, loaded
    page.evaluate("document.fonts.ready.then(() => true)")
    found = page.evaluate(MEASURE)
    assert found["scrollWidth"] <= found["width"], f"{where} scrolls sideways: {found}"
    assert not found["outside"], f"{where}: actions off the screen: {found['outside']}"


@pytest.fixture
def phone(browser, base_url, market_url, request):
    """A phone-sized browser in the test's language (both sites' language cookies set)."""
    language = request.param
    context = browser.new_context(
        base_url=base_url, viewport=PHONE, locale="zh-CN" if language == "zh" else "en-US", has_touch=True
    )
    context.add_cookies(
        [
            {"name": "lang", "value": language, "url": base_url},
            {"name": "aliyun_market_lang", "value": language, "url": market_url},
        ]
    )
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(
    ("phone", "ali_uid"), [("zh", "1380000000000611"), ("en", "1380000000000612")], indirect=["phone"]
)
def test_every_page_of_the_flow_fits_a_phone(phone: Page, ali_uid, market_url, live_smtp, billing_account):
    page = phone
    username = f"phone_{ali_uid[-3:]}"
    email = billing_account(username, workspaces=(f"手机空间 {ali_uid[-3:]}", "Another phone workspace"))
    page.goto(f"{market_url}/?aliUid={ali_uid}")
    assert_fits(page, "M1")
    steps.buy(page, market_url, ali_uid)
    assert_fits(page, "M4")
    page.locator("tbody tr").first.locator("details.sim-menu summary").click()
    expect(page.locator("tbody tr").first.locator(".sim-menu-body")).to_be_visible()
    assert_fits(page, "M4 with 模拟操作 open")
    page.goto(f"{market_url}/agreements/marketplace")
    assert_fits(page, "the marketplace's agreement")

    steps.login_free(page, market_url)
    assert_fits(page, "G1")
    steps.choose(page, "register")
    expect(page).to_have_url(re.compile(r"/register/basic$"))
    assert_fits(page, "R1")
    page.goto("/activate/")
    steps.choose(page, "bind")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_fits(page, "B0")
    steps.dismiss_guide(page)
    expect(page.locator("#username")).to_be_visible()
    assert_fits(page, "B1")
    steps.bind_billing(page, live_smtp, username, email)
    assert_fits(page, "B2")
    for tab in ("existing", "register"):
        page.goto(f"/workspace/new?tab={tab}")
        assert_fits(page, f"B2a ({tab})")
    page.goto("/bind/workspaces")
    steps.bind_workspace(page, f"手机空间 {ali_uid[-3:]}")
    expect(page.locator("a[href='/activate/success']")).to_be_visible()
    assert_fits(page, "B3")
    page.locator("a[href='/activate/success']").click()
    expect(page.locator(".success-card")).to_be_visible()
    assert_fits(page, "S1")

    page.goto("/agreements/user")
    assert_fits(page, "the user agreement")
    page.goto("/login/pwd")
    assert_fits(page, "L1")
    page.locator("#username").fill(f"{username}_owner")
    page.locator("#password").fill(OWNER_PASSWORD)
    steps.submit(page)
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.locator("#console-title")).to_be_visible()
    assert_fits(page, "the console")
    page.goto("/no-such-page")
    assert_fits(page, "an error page")
