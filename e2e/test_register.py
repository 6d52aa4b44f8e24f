"""The registration path in Chromium: 免登, G1 没有费用中心账号, R1-R3, 开通成功, then the login works."""
import re

from playwright.sync_api import Page, expect

from .test_bind import buy_and_enter, send_code_and_fill

PASSWORD = "Passw0rd2026"
# Buyers of their own (1380000000000301-309): the live database is shared by every browser test.


def arrive(page: Page, ali_uid: str) -> str:
    """Buy and 免登 as `ali_uid`; returns the instance ID the marketplace lists for it."""
    buy_and_enter(page, ali_uid)
    expect(page).to_have_url(re.compile(r"/activate/$"))
    market = page.context.new_page()
    market.goto("/market/instances")
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
    send_code_and_fill(page, live_smtp, email)


def test_registration_activates_and_the_new_account_logs_in(page: Page, shoot, live_smtp):
    ali_uid, username, email = "1380000000000301", "e2e_newcorp", "ops@e2e-newcorp.example"
    instance_id = arrive(page, ali_uid)
    page.get_by_label("没有费用中心账号").check()
    page.get_by_role("button", name="下一步").click()

    # R1 基本信息
    expect(page).to_have_url(re.compile(r"/register/basic$"))
    steps = page.get_by_role("navigation", name="注册进度")
    expect(steps.locator('[aria-current="step"]')).to_contain_text("基本信息")
    fill_basic_info(page, live_smtp, username, email)
    page.get_by_label("验证码", exact=True).blur()
    shoot("10.aliyun_market_3", target=page.locator("body"))  # the whole page, as documented
    page.get_by_role("button", name="下一步").click()

    # R2 企业信息: 更多信息 opens in place
    expect(steps.locator('[aria-current="step"]')).to_contain_text("企业信息")
    page.get_by_label("企业名称").fill("端到端科技有限公司")
    page.get_by_text("更多信息").click()
    page.get_by_label("所属行业").select_option(label="互联网")
    page.get_by_label("企业规模").select_option(label="50–199 人")
    page.get_by_label("我已阅读并同意").check()
    page.get_by_role("button", name="注册").click()

    # R3 选择开通方式
    expect(steps.locator('[aria-current="step"]')).to_contain_text("选择开通方式")
    expect(page.get_by_label("阿里云市场开通")).to_be_checked()
    expect(page.get_by_label("账号 ID")).to_have_value(ali_uid)
    expect(page.get_by_label("账号 ID")).not_to_be_editable()
    expect(page.get_by_label("商品实例 ID")).to_have_value(instance_id)
    expect(page.get_by_label("同步创建费用中心账号")).to_be_checked()
    page.get_by_label("工作空间名称").fill("端到端空间")
    page.get_by_label("English").check()
    page.get_by_label("工作空间风格").select_option(label="运维")
    page.get_by_label("我已阅读并同意").check()
    page.get_by_role("button", name="开通").click()

    # S1, then L1 with the credentials typed at R1
    expect(page.get_by_role("heading", name="开通成功")).to_be_visible()
    expect(page.get_by_text("端到端空间")).to_be_visible()
    page.get_by_role("link", name="确定").click()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="端到端空间")).to_be_visible()
    expect(page.get_by_text("阿里云账号结算")).to_be_visible()


def test_bad_input_is_shown_next_to_the_field_and_the_rest_is_kept(page: Page):
    arrive(page, "1380000000000302")
    page.goto("/register/basic")
    page.get_by_label("用户名").fill("9lives")
    page.get_by_label("登录密码", exact=True).fill("short")
    page.get_by_label("邮箱").fill("someone@example.com")
    page.get_by_role("button", name="下一步").click()
    summary = page.get_by_role("alert").filter(has_text="请修正以下问题后再提交")
    expect(summary).to_be_focused()
    expect(page.locator("#username-error")).to_contain_text("以字母开头")
    expect(page.locator("#password-error")).to_contain_text("密码至少 8 位")
    expect(page.get_by_label("邮箱")).to_have_value("someone@example.com")
    expect(page.get_by_label("登录密码", exact=True)).to_have_value("")


def test_unticking_the_billing_center_account_explains_aliyun_settlement(page: Page, live_smtp):
    arrive(page, "1380000000000303")
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
