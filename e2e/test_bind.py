"""The bind path in Chromium, every branch, with the documented screenshots."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

DEMO_PASSWORD = "Demo2026pass"


def buy_and_enter(page: Page, ali_uid: str) -> None:
    """M1-M4 as the buyer `ali_uid`, then 免登 to the Guance side."""
    page.goto(f"/market/?aliUid={ali_uid}")
    page.get_by_role("link", name="立即开通").click()
    dialog = page.get_by_role("dialog", name="开通按量服务")
    dialog.get_by_label("我已阅读并同意").check()
    dialog.get_by_role("button", name="开通").click()
    page.get_by_role("dialog", name="开通申请已提交").get_by_role("link", name="确认").click()
    page.locator("tbody tr").first.get_by_role("link", name="免登").click()


def send_code_and_fill(page: Page, live_smtp, email: str) -> None:
    """获取验证码 (with JavaScript: no reload), read the mail, type the code."""
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#code-status")).to_contain_text("验证码已发送")
    page.get_by_label("验证码", exact=True).fill(live_smtp.last_code(email))


def choose_bind_and_enter_billing(page: Page, live_smtp, username: str, email: str, shoot=None) -> None:
    page.get_by_text("有费用中心账号", exact=True).click()
    page.get_by_role("button", name="下一步").click()
    guide = page.get_by_role("dialog", name="如何快速绑定阿里云账号结算")
    expect(guide).to_be_visible()
    if shoot:
        shoot("15.aliyun_register_1")
    guide.get_by_role("button", name="知道了").click()
    expect(guide).to_be_hidden()
    page.get_by_label("用户名", exact=True).fill(username)
    send_code_and_fill(page, live_smtp, email)
    if shoot:
        shoot("10.market_aliyun_1")
    page.get_by_role("button", name="绑定", exact=True).click()
    expect(page.get_by_role("heading", name="绑定工作空间")).to_be_visible()


def finish_and_log_in(page: Page, site_username: str, password: str, shoot=None) -> None:
    """B3 确定 → S1 确定 → L1 → the console."""
    page.get_by_role("link", name="确定").click()
    expect(page.get_by_role("heading", name="开通成功")).to_be_visible()
    if shoot:
        shoot("15.aliyun_register_7")
    page.get_by_role("link", name="确定").click()
    expect(page).to_have_url(re.compile(r"/login/pwd"))
    page.get_by_label("用户名").fill(site_username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="欢迎使用观测云")).to_be_visible()
    expect(page.get_by_text("阿里云账号结算").first).to_be_visible()


def test_bind_an_existing_workspace_then_log_in(page: Page, live_smtp, shoot):
    buy_and_enter(page, "1380000000000201")
    page.context.clear_cookies(name="bind_guide_seen")
    choose_bind_and_enter_billing(page, live_smtp, "demo_billing", "billing@demo.guance.example", shoot)
    row = page.get_by_role("row").filter(has_text="生产环境监控")
    expect(row.get_by_text("可绑定")).to_be_visible()
    shoot("15.aliyun_register_6.1")
    row.get_by_role("link", name="绑定").click()
    page.get_by_role("alertdialog", name="绑定工作空间").get_by_role("button", name="确定").click()
    expect(page.get_by_role("row").filter(has_text="生产环境监控").get_by_text("已绑定")).to_be_visible()
    shoot("15.aliyun_register_6")
    finish_and_log_in(page, "demo_owner", DEMO_PASSWORD, shoot)
    expect(page.get_by_role("link", name="从安装 DataKit 开始").first).to_be_visible()
    shoot("1-free-start-1109")
    page.get_by_role("link", name="从安装 DataKit 开始").first.click()
    expect(page.get_by_role("heading", name="从安装 DataKit 开始")).to_be_visible()


def test_create_a_workspace_with_an_existing_guance_account(page: Page, live_smtp, shoot):
    buy_and_enter(page, "1380000000000202")
    choose_bind_and_enter_billing(page, live_smtp, "demo_billing_empty", "empty@demo.guance.example")
    page.get_by_role("link", name="立即创建工作空间").click()
    expect(page.get_by_role("link", name="有观测云账号", exact=True)).to_have_attribute("aria-current", "page")
    shoot("1-1-commercial-aliyun")
    page.get_by_label("工作空间名称").fill("演示工作空间")
    page.get_by_label("English").check()
    page.get_by_label("工作空间风格").select_option(label="研发")
    page.get_by_label("邮箱", exact=True).fill("solo@demo.guance.example")
    send_code_and_fill(page, live_smtp, "solo@demo.guance.example")
    page.get_by_label("我已阅读并同意").check()
    shoot("15.aliyun_register_5")
    page.get_by_role("button", name="创建", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="演示工作空间").get_by_text("已选择")).to_be_visible()
    finish_and_log_in(page, "demo_solo", DEMO_PASSWORD)


def test_register_a_guance_account_and_create_the_workspace(page: Page, live_smtp, shoot, billing_account):
    email = billing_account("e2e_new_customer")
    buy_and_enter(page, "1380000000000203")
    choose_bind_and_enter_billing(page, live_smtp, "e2e_new_customer", email)
    page.get_by_role("link", name="创建工作空间").click()
    page.get_by_role("link", name="没有观测云账号").click()
    expect(page.get_by_role("link", name="没有观测云账号")).to_have_attribute("aria-current", "page")
    shoot("1-2-commercial-aliyun")
    page.get_by_label("工作空间名称").fill("新客户空间")
    page.get_by_label("用户名").fill("newcomer")
    page.get_by_label("登录密码").fill("Newcomer2026")
    page.get_by_label("确认密码").fill("Newcomer2026")
    page.get_by_label("邮箱", exact=True).fill("newcomer@example.com")
    send_code_and_fill(page, live_smtp, "newcomer@example.com")
    page.get_by_label("手机号").fill("13800138000")
    page.get_by_label("我已阅读并同意").check()
    shoot("15.aliyun_register_3")
    page.get_by_role("button", name="注册并创建工作空间").click()
    expect(page.get_by_role("row").filter(has_text="新客户空间").get_by_text("已选择")).to_be_visible()
    finish_and_log_in(page, "newcomer", "Newcomer2026")
