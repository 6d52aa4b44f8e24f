"""After activation, in the browser: release falls back to 费用中心 settlement; the countdown's end (a controlled
clock) locks the workspace; its owner dissolves it with the keyboard only. Every new page is axe-clean and fits
390 px. (Expiry → 免登 → lock page → 立即解锁 → 续费 → unlocked runs in e2e/walkthrough.py, both languages.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from devtools.factories import PASSWORD
from tests.helpers import run_lifecycle
from tests.marketplace import login_free_url
from wizard import clock

from . import steps
from .test_bind import press, type_into
from .walkthrough import audit

PHONE = {"width": 390, "height": 800}


def activate(page: Page, market: str, smtp, ali_uid: str, username: str, email: str, workspace: str) -> None:
    """Buy, 免登, 有费用中心账号, bind `username`'s account, then `workspace`."""
    steps.buy_and_enter(page, market, ali_uid)
    steps.choose(page, "bind")
    steps.dismiss_guide(page)
    steps.bind_billing(page, smtp, username, email)
    steps.bind_workspace(page, workspace)
    expect(page.locator("a[href='/activate/success']")).to_be_visible()


def fits_a_phone(page: Page) -> bool:
    page.set_viewport_size(PHONE)
    fits = page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.set_viewport_size({"width": 1280, "height": 800})
    return fits


def check(page: Page, where: str) -> None:
    """axe finds nothing serious, and the page needs no horizontal scroll at 390 px."""
    found: list[str] = []
    audit(Axe(), page, where, found)
    assert not found, "\n".join(found)
    assert fits_a_phone(page), f"{where} scrolls sideways at 390 px"


def subjects(smtp, to: str) -> list[str]:
    return [message.subject for message in smtp.messages(to)]


def test_release_falls_back_to_billing_center_settlement(page: Page, market_url, live_app, live_smtp, billing_account):
    email = billing_account("rel_billing", workspaces=("发布空间",))
    activate(page, market_url, live_smtp, "1380000000000602", "rel_billing", email, "发布空间")
    steps.simulate(page, market_url, "expire")
    steps.login_free(page, market_url)
    expect(page.locator("h1")).to_have_text("工作空间将于 14 天后锁定")
    check(page, "X1 lock page (免登)")

    page.goto(f"{market_url}/instances")
    instance_id = page.locator("tbody tr").first.locator("td").first.inner_text()
    page.locator("tbody tr").first.locator("a[href*='release=']").click()
    page.get_by_role("alertdialog").locator("button[type=submit]").click()
    expect(page.locator("tbody tr").first.locator(".badge")).to_have_text("已关闭")
    # The marketplace offers no 免登 for a closed instance any more; a link made before says what happened.
    # (stamped ahead: every link of this instance so far is stamped now or before, and one stamp is one token)
    page.goto(login_free_url(live_app, instance_id, clock.now() + timedelta(seconds=37)))
    expect(page.locator(".instance-closed")).to_contain_text("工作空间「发布空间」已转为费用中心账号结算")
    check(page, "免登 on a closed instance")

    steps.log_in(page, "rel_billing_owner", PASSWORD)
    expect(page).to_have_url(re.compile(r"/console/$"))  # unlocked: no lock page first
    expect(page.locator(".lock-banner")).to_have_count(0)
    expect(page.locator(".workspace-card").filter(has_text="发布空间")).to_contain_text(
        "费用中心账号结算（rel_billing）"
    )
    told = subjects(live_smtp, "rel_billing_owner@acme.example")[:2]  # newest first
    assert told == ["工作空间「发布空间」已转为费用中心账号结算", "工作空间「发布空间」将于 14 天后锁定"]


@pytest.fixture
def later(monkeypatch):
    """The Guance side's clock, moved on at will (the live server reads wizard.clock.now at each call)."""
    offset = [timedelta()]
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + offset[0])
    return offset


def test_the_countdown_ends_then_the_owner_dissolves_with_the_keyboard(
    page: Page, market_url, live_app, live_smtp, billing_account, later
):
    email = billing_account("end_billing", workspaces=("到期空间",))
    activate(page, market_url, live_smtp, "1380000000000603", "end_billing", email, "到期空间")
    steps.simulate(page, market_url, "expire")
    steps.log_in(page, "end_billing_owner", PASSWORD)
    expect(page).to_have_url(re.compile(r"/console/workspaces/\d+/lock$"))
    page.goto("/console/")
    expect(page.locator(".lock-banner")).to_contain_text("工作空间「到期空间」将于 14 天后锁定")
    check(page, "X1 console banner")
    link = page.locator(".lock-banner a[href^='/unlock/']").get_attribute("href")
    page.goto(link)
    expect(page.get_by_role("heading", name="切换为费用中心账号结算")).to_be_visible()
    check(page, "X3 unlock choices")
    page.goto(link)  # a second time
    expect(page.locator("h1")).to_have_text("无法打开解锁页面")
    check(page, "X3 link used twice")

    later[0] = timedelta(days=14, minutes=1)
    with live_app.app_context():
        assert run_lifecycle().locked == 1
    steps.log_in(page, "end_billing_owner", PASSWORD)  # 14 days on: the 8-hour session has ended
    page.goto("/console/")
    expect(page.locator(".lock-banner-locked")).to_contain_text("工作空间「到期空间」已锁定")
    page.locator(".lock-banner a[href$='/lock']").click()
    expect(page.locator("h1")).to_have_text("工作空间已锁定")
    check(page, "X1 lock page, locked (console)")

    press(page, page.locator("a[href$='/dissolve']"))
    expect(page.locator("h1")).to_have_text("解散工作空间「到期空间」")
    check(page, "X2 dissolve")
    type_into(page, page.locator("#name"), "到期空间")
    page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_have_text("工作空间「到期空间」已解散。")
    expect(page.locator(".workspace-card").filter(has_text="到期空间")).to_have_count(0)
    assert "工作空间「到期空间」已锁定，数据已删除" in subjects(live_smtp, "end_billing_owner@acme.example")
