"""Buying on the marketplace and arriving on the Guance side, in Chromium (documented screenshots)."""
import re

from playwright.sync_api import Page, expect

NEW_BUYER = "1380000000000101"


def test_purchase_then_login_free_lands_on_the_chooser(page: Page, shoot):
    page.goto(f"/market/?aliUid={NEW_BUYER}")
    expect(page.get_by_text(f"当前阿里云账号 ID：{NEW_BUYER}")).to_be_visible()
    shoot("2-commercial-1107")

    page.get_by_role("link", name="立即开通").click()
    dialog = page.get_by_role("dialog", name="开通按量服务")
    expect(dialog).to_be_visible()
    dialog.get_by_label("我已阅读并同意").check()
    shoot("3-commercial-1107")
    dialog.get_by_role("button", name="开通").click()

    submitted = page.get_by_role("dialog", name="开通申请已提交")
    expect(submitted).to_be_visible()
    shoot("4-commercial-1107")
    submitted.get_by_role("link", name="确认").click()

    expect(page.get_by_role("heading", name="已购买的服务")).to_be_visible()
    row = page.locator("tbody tr").first
    expect(row.get_by_text("已开通")).to_be_visible()
    shoot("10.aliyun_market_1")

    row.get_by_role("link", name="免登").click()
    expect(page).to_have_url(re.compile(r"/activate/$"))
    expect(page.get_by_role("heading", name="开通观测云商业版")).to_be_visible()
    expect(page.get_by_text(NEW_BUYER)).to_be_visible()
    shoot("10.aliyun_market_2")
    shoot("17.process_1", target=page.locator("#process-diagram"))


def test_the_agreement_is_required(page: Page):
    page.goto(f"/market/?aliUid={NEW_BUYER}")
    page.goto("/market/activate")
    page.get_by_role("dialog", name="开通按量服务").get_by_role("button", name="开通").click()
    expect(page.get_by_text("请先阅读并同意服务协议").first).to_be_visible()
    expect(page.get_by_role("dialog", name="开通按量服务")).to_be_visible()


def test_a_bad_login_free_link_gets_a_clear_page(page: Page):
    response = page.goto("/spi?action=verify&instanceId=1&timeStamp=2026-01-01%2000:00:00&token=" + "0" * 32)
    assert response.status == 400
    expect(page.get_by_role("heading", name="免登失败")).to_be_visible()
    expect(page.get_by_role("link", name="返回已购买的服务")).to_be_visible()
