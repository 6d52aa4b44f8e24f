"""获取验证码 without JavaScript, on a page built exactly as a wizard page plugs it in."""

from __future__ import annotations

import pytest

from devtools.factories import BillingAccountFactory

from .codes_support import code_pages, send_json
from .queue_support import break_queue

PAGE = "/test/codes/email"
TYPED = {"nickname": "小明", "email": "alice@example.com", "password": "S3cret-pass"}


@pytest.fixture
def app(app):
    app.register_blueprint(code_pages)
    return app


def press_send(browser, page=PAGE, **fields):
    return browser.submit(page, {**fields, "send_code": "1"})


def code_field(page):
    """What the page shows of 获取验证码: the code field, its button and live region, as markup."""
    return str(page.find(".code-field"))


def test_the_code_field_has_its_label_button_and_live_region(browser):
    page = browser.get(PAGE)
    field = page.find(".code-field")
    label = field.select_one("label[for=code]")
    assert label.get_text() == "验证码" and label["class"] == ["field-label", "required"]
    code = field.select_one("input#code")
    assert (code["autocomplete"], code["inputmode"], code["aria-describedby"]) == (
        "one-time-code",
        "numeric",
        "code-status",
    )
    button = field.select_one("button[data-code-send]")
    assert button.get_text(strip=True) == "获取验证码"
    expected = {
        "type": "submit",
        "name": "send_code",
        "data-source": "email",
        "data-purpose": "register",
        "data-endpoint": "/codes/send",
        "data-countdown": "重新发送({seconds}s)",
    }
    assert {name: button.get(name) for name in expected} == expected and button.has_attr("formnovalidate")
    assert field.select_one("#code-status")["role"] == "status"
    assert not page.find_all("[style], style, script:not([src])")  # strict CSP: nothing inline
    assert page.form("form.form").submit_buttons()[0]["name"] == "submit"  # Enter in a field presses 下一步


def test_sending_keeps_what_was_typed_but_not_the_password_and_shows_the_outcome(browser, smtp):
    page = press_send(browser, **TYPED, code="123456")
    assert page.status == 200
    assert page.value("nickname") == "小明" and page.value("email") == "alice@example.com"
    assert page.value("password") in (None, "")
    assert page.value("code") in (None, "")
    assert page.code_status.text == "验证码已发送，请查收邮件"
    assert page.code_status.retry_after == 60
    assert page.find(".error-summary") is None  # only the email was checked, and it was fine
    assert smtp.last_code("alice@example.com")


def test_an_invalid_email_is_shown_next_to_its_field_and_nothing_is_sent(browser, smtp):
    page = press_send(browser, **{**TYPED, "email": "alice@"})
    assert "请输入有效的邮箱地址" in page.error("email")
    assert page.code_status.text == ""
    assert smtp.messages() == []


def test_a_refusal_is_announced_next_to_the_code_field(browser, smtp, frozen_clock):
    press_send(browser, **TYPED)
    frozen_clock.advance(50)
    page = press_send(browser, **TYPED)
    assert page.code_status.text == "请在 10 秒后重新获取验证码" and page.code_status.state == "error"
    assert page.find("#code-status")["role"] == "alert"
    assert page.code_status.retry_after == 10


def test_the_queue_down_shows_the_message_and_keeps_the_input(app, browser, smtp):
    break_queue(app)
    page = press_send(browser, **TYPED)
    assert page.status == 200
    assert page.code_status.text == "验证码发送失败，请稍后重试"
    assert page.value("nickname") == "小明" and page.value("email") == "alice@example.com"


def test_the_right_code_passes_once_and_a_wrong_one_is_an_error_next_to_the_code_field(browser, smtp):
    press_send(browser, **TYPED)
    code = smtp.last_code("alice@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page = browser.submit(PAGE, {**TYPED, "code": wrong})
    assert page.error("code") == "验证码错误，还可以尝试 4 次"
    code_input = page.field("code")
    assert code_input["aria-describedby"] == "code-status code-error" and code_input["aria-invalid"] == "true"
    summary = page.find(".error-summary[role=alert]")  # the error summary lists it too
    assert "验证码：验证码错误" in summary.get_text()
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = browser.submit(PAGE, {**TYPED, "code": full_width})
    assert response.status == 302 and response.location.endswith("verified=1")
    page = browser.submit(PAGE, {**TYPED, "code": code})
    assert "验证码无效或已过期，请重新获取" in page.error("code")


def test_a_malformed_code_is_refused_by_the_form_without_costing_a_try(browser, smtp):
    press_send(browser, **TYPED)
    assert "验证码是 6 位数字" in browser.submit(PAGE, {**TYPED, "code": "12345"}).error("code")
    code = smtp.last_code("alice@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert "还可以尝试 4 次" in browser.submit(PAGE, {**TYPED, "code": wrong}).error("code")


def test_an_unknown_username_shows_exactly_what_a_known_one_shows(app, browser, db, smtp, frozen_clock):
    BillingAccountFactory(username="acme_billing", email="billing@acme.example")
    for _ in range(2):  # the first send, then a resend inside the cooldown
        known = press_send(browser, "/test/codes/username", username="acme_billing")
        unknown = press_send(browser, "/test/codes/username", username="nobody_billing")
        assert known.status == unknown.status == 200
        assert code_field(known) == code_field(unknown)
        frozen_clock.advance(30)
    assert known.code_status.text == "请在 30 秒后重新获取验证码"
    assert [message.to for message in smtp.messages()] == ["billing@acme.example"]


def test_page_sends_and_the_endpoint_share_the_per_ip_limit(app, browser, client, smtp):
    app.config["CODE_SENDS_PER_IP_PER_HOUR"] = 2
    assert send_json(client, "register", "first@example.com").status_code == 200
    assert press_send(browser, **{**TYPED, "email": "second@example.com"}).status == 200
    limited = press_send(browser, **{**TYPED, "email": "third@example.com"})
    assert limited.status == 429
    assert "操作过于频繁" in limited.title  # the styled page
    assert send_json(client, "register", "fourth@example.com").status_code == 429
    # Submitting the page itself is not a send, so it is not limited.
    assert browser.submit(PAGE, {**TYPED, "code": "000000"}).status == 200
    assert len(smtp.messages()) == 2
