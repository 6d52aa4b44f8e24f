"""The marketplace as the customer sees it: the agreement, a bad link, and the instance's lifecycle."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from . import steps


def test_the_agreement_is_required(page: Page, market_url):
    page.goto(f"{market_url}/?aliUid=1380000000000501")
    page.goto(f"{market_url}/activate")
    steps.submit(page, page.get_by_role("dialog"))
    expect(page.locator("#agreement-error")).to_have_text("请先阅读并同意服务协议")
    expect(page.get_by_role("dialog", name="开通按量服务")).to_be_visible()
    page.goto(f"{market_url}/instances")
    expect(page.locator("tbody tr")).to_have_count(0)


def test_a_bad_login_free_link_gets_a_clear_page(page: Page, market_url):
    response = page.goto("/spi?action=verify&instanceId=1&timeStamp=2026-01-01%2000:00:00&token=" + "0" * 32)
    assert response.status == 400
    expect(page.get_by_role("heading", name="免登失败")).to_be_visible()
    expect(page.get_by_text("请返回阿里云云市场的「已购买的服务」，重新点击「免登」。")).to_be_visible()
    page.get_by_role("link", name="返回已购买的服务").click()
    # Another site: this browser has not signed in to the marketplace, so it asks who is buying first.
    expect(page).to_have_url(f"{market_url}/signin?next=/instances")
    expect(page.get_by_role("heading", name="登录阿里云账号")).to_be_visible()


def test_expired_renewed_released_as_the_customer_sees_it(page: Page, market_url):
    steps.buy_and_enter(page, market_url, "1380000000000502")
    expect(page).to_have_url(re.compile(r"/activate/$"))

    steps.simulate(page, market_url, "expire")
    expect(page.locator("tbody tr").first.locator(".badge")).to_have_text("已过期")
    steps.login_free(page, market_url)  # no workspace bound yet: nothing to lock, renew to go on
    expect(page.get_by_role("heading", name="实例已过期")).to_be_visible()
    expect(page.get_by_text("尚未绑定工作空间")).to_be_visible()

    page.goto(f"{market_url}/instances")
    page.locator("tbody tr").first.locator("form[action$='/renew'] button").click()
    expect(page.locator("tbody tr").first.locator(".badge")).to_have_text("已开通")
    steps.login_free(page, market_url)
    expect(page).to_have_url(re.compile(r"/activate/$"))

    page.goto(f"{market_url}/instances")
    page.locator("tbody tr").first.locator("a[href*='release=']").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("确定关闭实例")
    confirm.locator("button[type=submit]").click()
    expect(page.locator("tbody tr").first.locator(".badge")).to_have_text("已关闭")
    expect(page.locator("tbody tr").first.locator("a[href$='/login-free']")).to_have_count(0)
