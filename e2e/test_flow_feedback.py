"""What the browser shows of the flow's feedback (issue 21, items 3-6), in a real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from devtools.factories import PASSWORD  # every arranged account's password

from . import steps


def bound_to_first(page: Page, market_url, live_smtp, billing_account, name: str, ali_uid: str) -> None:
    """Buy, 免登, 有费用中心账号, bind `name`'s billing-center account: B2 shows its workspaces."""
    email = billing_account(name, workspaces=(f"{name}甲", f"{name}乙"))
    steps.buy_and_enter(page, market_url, ali_uid)
    steps.choose(page, "bind")
    steps.dismiss_guide(page)
    steps.bind_billing(page, live_smtp, name, email)


def test_success_names_the_login_and_login_free_then_leads_to_the_workspace(
    page: Page, market_url, live_smtp, billing_account
):
    bound_to_first(page, market_url, live_smtp, billing_account, "s1names", "1380000000000521")
    steps.bind_workspace(page, "s1names甲")
    page.locator("a[href='/activate/success']").click()
    expect(page.locator(".login-accounts")).to_contain_text("s1names_owner")
    page.locator("a[href^='/login/pwd']").click()
    expect(page.locator("#username")).to_have_value("s1names_owner")  # filled in: the password is enough
    page.locator("#password").fill(PASSWORD)
    steps.submit(page)
    expect(page).to_have_url(re.compile(r"/console/$"))

    page.locator("a[href='/console/datakit']").first.click()
    expect(page.locator("pre.command").first).to_contain_text(
        re.compile(r"openway\.guance\.com\?token=tkn_[0-9a-f]{32}")
    )

    steps.login_free(page, market_url)  # signed in as a member: straight to the console
    expect(page).to_have_url(re.compile(r"/console/$"))


def test_a_later_tab_is_told_the_instance_is_already_bound(page: Page, market_url, live_smtp, billing_account):
    bound_to_first(page, market_url, live_smtp, billing_account, "twotabs", "1380000000000522")
    later = page.context.new_page()
    later.goto(page.url)  # the same B2 in a second tab
    steps.bind_workspace(page, "twotabs甲")
    later.get_by_role("row").filter(has_text="twotabs乙").get_by_role("button").click()
    expect(later.locator(".flash-warning")).to_contain_text("该实例已绑定工作空间「twotabs甲」")
    expect(later.locator(".success-card")).to_contain_text("twotabs甲")


def test_a_tab_replaced_by_another_login_free_explains_itself(page: Page, market_url):
    steps.buy_and_enter(page, market_url, "1380000000000523")  # this tab shows G1
    other = page.context.new_page()
    steps.buy_and_enter(other, market_url, "1380000000000523")  # a second instance, entered in another tab
    steps.choose(page, "bind")
    expect(page.locator("main")).to_contain_text("此页面已在另一次免登后失效")
    page.get_by_role("link", name="回到最新的页面").click()
    expect(page).to_have_url(re.compile(r"/activate/$"))


def test_codes_paste_whole_and_the_cooldown_follows_the_address(page: Page, market_url, live_smtp, billing_account):
    billing_account("cooldown")
    steps.buy_and_enter(page, market_url, "1380000000000504")
    steps.choose(page, "bind")
    steps.dismiss_guide(page)
    page.locator("#code").fill("356 365")
    expect(page.locator("#code")).to_have_value("356 365")  # nothing cut off
    send = page.locator("#send_code")
    page.locator("#username").fill("cooldown_typo")
    send.click()
    expect(page.locator("#code-status")).to_have_text("若该账号存在，验证码已发送至其绑定邮箱，请查收")
    expect(send).to_have_attribute("aria-disabled", "true")
    page.locator("#username").fill("cooldown")  # corrected: may be sent to at once
    expect(send).not_to_have_attribute("aria-disabled", "true")
    send.click()
    expect(page.locator("#code-status")).to_have_text("若该账号存在，验证码已发送至其绑定邮箱，请查收")
    page.locator("#username").fill("cooldown_typo")  # the first address is still waiting
    expect(send).to_have_attribute("aria-disabled", "true")


def test_back_after_an_error_and_the_language_switch_keep_the_page(page: Page, market_url):
    steps.buy_and_enter(page, market_url, "1380000000000505")
    steps.choose(page, "register")
    page.locator("#username").fill("kept_name")
    page.locator("#email").fill("not-an-address")
    steps.submit(page)
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#username")).to_have_value("kept_name")
    page.get_by_role("button", name="English").click()  # the switch submits the form's input with it
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#username")).to_have_value("kept_name")
    page.get_by_role("link", name="Back to the marketplace").click()
    page.go_back()  # a GET in the history, never a POST: no "Confirm Form Resubmission"
    expect(page).to_have_url(re.compile(r"/register/basic$"))
    expect(page.locator("#username")).to_be_visible()


def test_help_reopens_the_guide(page: Page, market_url):
    steps.buy_and_enter(page, market_url, "1380000000000506")
    steps.choose(page, "bind")
    steps.dismiss_guide(page)
    page.get_by_role("link", name="帮助").click()
    expect(page.get_by_role("dialog")).to_contain_text("如何快速绑定阿里云账号结算")
    steps.dismiss_guide(page)
    expect(page).to_have_url(re.compile(r"/bind/billing$"))
