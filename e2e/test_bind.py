"""The whole bind path by keyboard only (every branch with the mouse is in e2e/walkthrough.py)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from . import steps

MAX_TABS = 60


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has the focus: proof it is reachable by keyboard, in page order."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reachable with Tab")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def press(page: Page, target: Locator, key: str = "Enter") -> None:
    tab_to(page, target)
    page.keyboard.press(key)


def test_the_whole_bind_path_works_with_the_keyboard_only(page: Page, market_url, live_smtp, billing_account):
    email = billing_account("kb_billing", workspaces=("键盘空间",))
    page.goto(f"{market_url}/?aliUid=1380000000000401")
    press(page, page.locator("a[href='/activate']"))
    press(page, page.locator("#agreement"), "Space")
    press(page, page.get_by_role("dialog").locator(steps.MAIN_BUTTON))
    press(page, page.get_by_role("dialog").locator("a[href='/instances']"))
    press(page, page.locator("tbody tr").first.locator("a[href$='/login-free']"))

    press(page, page.locator("input[name=path][value=register]"), "Space")  # into the radio group
    page.keyboard.press("ArrowRight")  # arrows move between the two options
    expect(page.locator("input[name=path][value=bind]")).to_be_checked()
    page.keyboard.press("Enter")  # Enter in a form submits it: 下一步

    press(page, page.get_by_role("dialog").locator(steps.MAIN_BUTTON))  # 知道了
    type_into(page, page.locator("#username"), "kb_billing")
    press(page, page.locator("#send_code"))
    expect(page.locator("#code-status.code-status-ok")).to_be_visible()
    type_into(page, page.locator("#code"), live_smtp.last_code(email))
    page.keyboard.press("Enter")  # Enter binds; it does not ask for another code
    expect(page).to_have_url(re.compile(r"/bind/workspaces$"))

    press(page, page.get_by_role("row").filter(has_text="键盘空间").get_by_role("button"))
    expect(page.locator(".flash-success")).to_contain_text("键盘空间")  # bound in one step, and said so
    press(page, page.locator("a[href='/activate/success']"))
    expect(page.locator(".success-card")).to_be_visible()
    press(page, page.locator("a[href^='/login/pwd']"))
    type_into(page, page.locator("#username"), "kb_billing_owner")
    type_into(page, page.locator("#password"), "Acme-Owner-Lantern-42")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.get_by_text("键盘空间").first).to_be_visible()
