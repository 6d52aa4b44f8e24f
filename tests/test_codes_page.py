"""获取验证码 without JavaScript, on a page built exactly as a wizard page plugs it in."""

from __future__ import annotations

import re

import pytest

from wizard.models import BillingAccount

from .codes_support import code_fragment, code_pages, send_json, status_of
from .helpers import submit, text_of
from .queue_support import break_queue

PAGE = "/test/codes/email"
TYPED = {"nickname": "小明", "email": "alice@example.com", "password": "S3cret-pass"}


@pytest.fixture
def app(app):
    app.register_blueprint(code_pages)
    return app


def press_send(client, page=PAGE, **fields):
    return submit(client, page, {**fields, "send_code": "1"})


def value_of(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def test_the_code_field_has_its_label_button_and_live_region(client):
    html = text_of(client.get(PAGE))
    fragment = code_fragment(html)
    assert '<label class="field-label required" for="code">验证码</label>' in fragment
    assert 'autocomplete="one-time-code"' in fragment and 'inputmode="numeric"' in fragment
    button = re.search(r"<button[^>]*data-code-send[^>]*>([^<]*)</button>", fragment, re.S)
    assert button.group(1) == "获取验证码"
    for attribute in (
        'type="submit"',
        'name="send_code"',
        "formnovalidate",
        'data-source="email"',
        'data-purpose="register"',
        'data-endpoint="/codes/send"',
        'data-countdown="重新发送({seconds}s)"',
    ):
        assert attribute in button.group(0), attribute
    assert re.search(r'id="code-status"[^>]*role="status"', fragment)
    assert 'aria-describedby="code-status"' in fragment
    assert " style=" not in html and "<script>" not in html
    form = html[html.index('<form class="form"') :]
    first_submit = re.search(r'<(?:button|input)[^>]*type="submit"[^>]*>', form).group(0)
    assert 'name="submit"' in first_submit  # Enter in a field presses 下一步, not 获取验证码


def test_sending_keeps_what_was_typed_but_not_the_password_and_shows_the_outcome(client, smtp):
    response = press_send(client, **TYPED, code="123456")
    assert response.status_code == 200
    html = text_of(response)
    assert value_of(html, "nickname") == "小明" and value_of(html, "email") == "alice@example.com"
    assert value_of(html, "password") in (None, "")
    assert value_of(html, "code") in (None, "")
    assert status_of(html) == "验证码已发送，请查收邮件"
    assert 'data-retry-after="60"' in code_fragment(html)
    assert "error-summary" not in html  # only the email was checked, and it was fine
    assert smtp.last_code("alice@example.com")


def test_an_invalid_email_is_shown_next_to_its_field_and_nothing_is_sent(client, smtp):
    html = text_of(press_send(client, **{**TYPED, "email": "alice@"}))
    assert '<p class="field-error" id="email-error">' in html
    assert "请输入有效的邮箱地址" in html
    assert status_of(html) == ""
    assert smtp.messages() == []


def test_a_refusal_is_announced_next_to_the_code_field(client, smtp, frozen_clock):
    press_send(client, **TYPED)
    frozen_clock.advance(50)
    html = text_of(press_send(client, **TYPED))
    assert status_of(html) == "请在 10 秒后重新获取验证码"
    assert re.search(r'class="code-status code-status-error" id="code-status"\s+role="alert"', html)
    assert 'data-retry-after="10"' in html


def test_the_queue_down_shows_the_message_and_keeps_the_input(app, client, smtp):
    break_queue(app)
    response = press_send(client, **TYPED)
    html = text_of(response)
    assert response.status_code == 200
    assert status_of(html) == "验证码发送失败，请稍后重试"
    assert value_of(html, "nickname") == "小明" and value_of(html, "email") == "alice@example.com"


def test_the_right_code_passes_once_and_a_wrong_one_is_an_error_next_to_the_code_field(client, smtp):
    press_send(client, **TYPED)
    code = smtp.last_code("alice@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    html = text_of(submit(client, PAGE, {**TYPED, "code": wrong}))
    assert re.search(r'<p class="field-error" id="code-error">\s*<span>验证码错误，还可以尝试 4 次</span>', html)
    assert re.search(
        r'<input[^>]*aria-describedby="code-status code-error"[^>]*aria-invalid="true"', html
    ) or re.search(r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="code-status code-error"', html)
    assert 'role="alert"' in html and "验证码：验证码错误" in html  # the error summary lists it too
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = submit(client, PAGE, {**TYPED, "code": full_width})
    assert response.status_code == 302 and response.headers["Location"].endswith("verified=1")
    html = text_of(submit(client, PAGE, {**TYPED, "code": code}))
    assert "验证码无效或已过期，请重新获取" in html


def test_a_malformed_code_is_refused_by_the_form_without_costing_a_try(client, smtp):
    press_send(client, **TYPED)
    html = text_of(submit(client, PAGE, {**TYPED, "code": "12345"}))
    assert "验证码是 6 位数字" in html
    code = smtp.last_code("alice@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert "还可以尝试 4 次" in text_of(submit(client, PAGE, {**TYPED, "code": wrong}))


def test_an_unknown_username_shows_exactly_what_a_known_one_shows(app, client, db, smtp, frozen_clock):
    db.session.add(BillingAccount(username="acme_billing", email="billing@acme.example", password_hash="x"))
    db.session.commit()
    for _ in range(2):  # the first send, then a resend inside the cooldown
        known = press_send(client, "/test/codes/username", username="acme_billing")
        unknown = press_send(client, "/test/codes/username", username="nobody_billing")
        assert known.status_code == unknown.status_code == 200
        assert code_fragment(text_of(known)) == code_fragment(text_of(unknown))
        frozen_clock.advance(30)
    assert status_of(text_of(known)) == "请在 30 秒后重新获取验证码"
    assert [message.to for message in smtp.messages()] == ["billing@acme.example"]


def test_page_sends_and_the_endpoint_share_the_per_ip_limit(app, client, smtp):
    app.config["CODE_SENDS_PER_IP_PER_HOUR"] = 2
    assert send_json(client, "register", "first@example.com").status_code == 200
    assert press_send(client, **{**TYPED, "email": "second@example.com"}).status_code == 200
    limited = press_send(client, **{**TYPED, "email": "third@example.com"})
    assert limited.status_code == 429
    assert "操作过于频繁" in text_of(limited) and "<h1" in text_of(limited)  # the styled page
    assert send_json(client, "register", "fourth@example.com").status_code == 429
    # Submitting the page itself is not a send, so it is not limited.
    assert submit(client, PAGE, {**TYPED, "code": "000000"}).status_code == 200
    assert len(smtp.messages()) == 2
