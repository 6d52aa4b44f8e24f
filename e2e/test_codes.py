"""获取验证码 with JavaScript in Chromium: no reload, the answer in the live region, the countdown."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from devtools.ports import free_port
from tests.codes_support import code_pages
from tests.conftest import migrate_database, settings_for_tests
from wizard import create_app

ADDRESS = "e2e-codes@example.com"


@pytest.fixture(scope="module")
def code_page_url(tmp_path_factory, live_smtp):
    """A live server with the test page built as a wizard page is; a 3-second cooldown."""
    path = tmp_path_factory.mktemp("e2e-codes") / "wizard.db"
    migrate_database(f"sqlite:///{path}")
    app = create_app(
        settings_for_tests(f"sqlite:///{path}", live_smtp, SESSION_COOKIE_SECURE=False, CODE_RESEND_SECONDS=3)
    )
    app.register_blueprint(code_pages)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/test/codes/email"
    server.shutdown()
    thread.join()


def test_a_code_is_sent_without_a_reload_and_the_button_counts_down(page: Page, code_page_url, live_smtp):
    page.goto(code_page_url)
    page.get_by_label("邮箱", exact=True).fill(ADDRESS)
    page.get_by_label("登录密码", exact=True).fill("S3cret-pass")
    button = page.locator("#send_code")
    button.click()
    expect(page.locator("#code-status")).to_have_text("验证码已发送，请查收邮件")
    expect(button).to_have_text(re.compile(r"^重新发送\(\ds\)$"))
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(page.get_by_label("登录密码", exact=True)).to_have_value("S3cret-pass")  # the page was not reloaded
    assert len(live_smtp.messages(ADDRESS)) == 1
    # When the countdown ends (3 s here) the button asks for a code again.
    expect(button).to_have_text("获取验证码", timeout=10_000)
    expect(button).not_to_have_attribute("aria-disabled", "true")


def test_enter_in_the_code_field_submits_the_page_with_the_code(page: Page, code_page_url, live_smtp):
    page.goto(code_page_url)
    page.get_by_label("邮箱", exact=True).fill("e2e-enter@example.com")
    page.locator("#send_code").click()
    expect(page.locator("#code-status")).to_have_text("验证码已发送，请查收邮件")
    page.get_by_label("验证码", exact=True).fill(live_smtp.last_code("e2e-enter@example.com"))
    page.get_by_label("验证码", exact=True).press("Enter")
    expect(page.get_by_text("验证通过")).to_be_visible()
    assert len(live_smtp.messages("e2e-enter@example.com")) == 1


def test_a_refusal_is_announced_in_the_live_region(page: Page, code_page_url, live_smtp):
    page.goto(code_page_url)
    page.get_by_label("邮箱", exact=True).fill("not-an-address")
    page.locator("#send_code").click()
    status = page.locator("#code-status")
    expect(status).to_have_text("请输入有效的邮箱地址")
    expect(status).to_have_attribute("role", "alert")
    expect(page.locator("#send_code")).to_have_text("获取验证码")


def test_without_javascript_the_button_posts_the_page_and_enter_still_means_next(
    browser: Browser, code_page_url, live_smtp
):
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.goto(code_page_url)
    email = page.get_by_label("邮箱", exact=True)
    email.fill("e2e-nojs@example.com")
    email.press("Enter")
    expect(page.locator("[data-error-summary]")).to_contain_text("请输入验证码")  # 下一步, not 获取验证码
    assert live_smtp.messages("e2e-nojs@example.com") == []
    page.locator("#send_code").click()
    expect(page.locator("#code-status")).to_have_text("验证码已发送，请查收邮件")
    expect(email).to_have_value("e2e-nojs@example.com")
    page.get_by_label("验证码", exact=True).fill(live_smtp.last_code("e2e-nojs@example.com"))
    page.get_by_label("验证码", exact=True).press("Enter")
    expect(page.get_by_text("验证通过")).to_be_visible()
    context.close()
