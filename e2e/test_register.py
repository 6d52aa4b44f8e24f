"""The registration path in Chromium beyond the documented walkthrough (e2e/test_docs.py): bad input, unticked R3."""

import re

from playwright.sync_api import Page, expect

from .steps import buy_and_enter, send_code

PASSWORD = "Blue-Harbor-Lantern-7"
# Buyers of their own (1380000000000301-309): the live database is shared by every browser test.


def arrive(page: Page, market_url: str, ali_uid: str) -> str:
    """Buy and 免登 as `ali_uid`; returns the instance ID the marketplace lists for it."""
    buy_and_enter(page, market_url, ali_uid)
    expect(page).to_have_url(re.compile(r"/activate/$"))
    market = page.context.new_page()
    market.goto(f"{market_url}/instances")
    instance_id = market.locator("tbody tr td.mono").first.inner_text()
    market.close()
    return instance_id


def fill_basic_info(page: Page, live_smtp, username: str, email: str) -> None:
    page.get_by_label("站点").select_option(label="中国区1（杭州）")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("登录密码", exact=True).fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("手机号").fill("13800138000")
    send_code(page, live_smtp, email)


def test_bad_input_is_shown_next_to_the_field_and_the_rest_is_kept(page: Page, market_url):
    arrive(page, market_url, "1380000000000302")
    page.goto("/register/basic")
    page.get_by_label("用户名").fill("9lives")
    page.get_by_label("登录密码", exact=True).fill("short")
    page.get_by_label("邮箱").fill("someone@example.com")
    page.get_by_role("button", name="下一步").click()
    summary = page.get_by_role("alert").filter(has_text="请修正以下问题后再提交")
    expect(summary).to_be_focused()
    expect(page.locator("#username-error")).to_contain_text("以字母开头")
    expect(page.locator("#password-error")).to_contain_text("密码至少 12 位")
    expect(page.get_by_label("邮箱")).to_have_value("someone@example.com")
    expect(page.get_by_label("登录密码", exact=True)).to_have_value("")


def test_unticking_the_billing_center_account_explains_aliyun_settlement(page: Page, market_url, live_smtp):
    arrive(page, market_url, "1380000000000303")
    page.goto("/register/basic")
    fill_basic_info(page, live_smtp, "e2e_solo", "solo@e2e-newcorp.example")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("企业名称").fill("独立工作室")
    page.get_by_label("我已阅读并同意").check()
    page.get_by_role("button", name="注册").click()

    note = page.get_by_text("工作空间将通过观测云直接结算")
    expect(note).to_be_hidden()
    page.get_by_label("同步创建费用中心账号").uncheck()
    expect(note).to_be_visible()
    page.get_by_label("工作空间名称").fill("独立空间")
    page.get_by_label("我已阅读并同意").check()
    page.get_by_role("button", name="开通").click()

    expect(page.get_by_role("heading", name="工作空间已创建")).to_be_visible()
    page.get_by_role("link", name="绑定费用中心账号").click()
    expect(page).to_have_url(re.compile(r"/bind/billing$"))
