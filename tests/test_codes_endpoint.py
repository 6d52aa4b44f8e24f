"""POST /codes/send: 获取验证码 without a reload, in JSON, behind CSRF and a per-IP limit."""

from __future__ import annotations

import pytest

from devtools.customer import Browser
from devtools.ports import free_port
from wizard.models import BillingAccount

from .codes_support import code_pages, send_json
from .conftest import BOTH_STORES
from .queue_support import break_queue


@pytest.fixture
def app(app):
    app.register_blueprint(code_pages)
    return app


def test_a_code_is_sent_and_the_answer_drives_the_countdown(client, smtp):
    response = send_json(client, "register", "Alice@Example.com")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "message": "验证码已发送，请查收邮件", "retry_after": 60}
    assert smtp.last_code("alice@example.com")


@pytest.mark.parametrize(
    "purpose, identifier, message",
    [
        ("register", "", "请输入邮箱"),
        ("register", "not-an-address", "请输入有效的邮箱地址"),
        ("bind_billing", "   ", "请输入用户名"),
        ("bind_billing", "x" * 65, "用户名不能超过 64 个字符"),
        ("unlock_everything", "alice@example.com", "请求无效"),
    ],
)
def test_a_bad_request_is_explained_and_sends_nothing(client, smtp, purpose, identifier, message):
    response = send_json(client, purpose, identifier)
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "message": message, "retry_after": None}
    assert smtp.messages() == []


def test_the_endpoint_needs_the_csrf_token(client, smtp):
    client.get("/test/codes/email")
    refused = client.post("/codes/send", data={"purpose": "register", "identifier": "alice@example.com"})
    assert refused.status_code == 400
    assert refused.get_json()["ok"] is False
    assert "请刷新页面后重新提交" in refused.get_json()["message"]
    forged = send_json(client, "register", "alice@example.com", **{"X-CSRFToken": "forged"})
    assert forged.status_code == 400
    assert smtp.messages() == []
    as_field = Browser.of(client).submit(
        "/test/codes/email", {"purpose": "register", "identifier": "alice@example.com"}, action="/codes/send"
    )
    assert as_field.status == 200 and len(smtp.messages()) == 1


def test_a_resend_too_soon_says_how_many_seconds_remain(client, smtp, frozen_clock):
    send_json(client, "register", "alice@example.com")
    frozen_clock.advance(21)
    response = send_json(client, "register", "alice@example.com")
    assert response.status_code == 429
    assert response.get_json() == {"ok": False, "message": "请在 39 秒后重新获取验证码", "retry_after": 39}


def test_an_unknown_username_gets_exactly_the_answers_of_a_known_one(app, client, db, smtp, frozen_clock):
    db.session.add(BillingAccount(username="acme_billing", email="billing@acme.example", password_hash="x"))
    db.session.commit()
    for _ in range(2):  # the first send, then a resend inside the cooldown
        known = send_json(client, "bind_billing", "acme_billing")
        unknown = send_json(client, "bind_billing", "nobody_billing")
        assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json())
        frozen_clock.advance(30)
    assert known.status_code == 429
    assert [message.to for message in smtp.messages()] == ["billing@acme.example"]


def test_the_queue_down_answers_503_with_the_message(app, client, smtp):
    break_queue(app)
    response = send_json(client, "register", "alice@example.com")
    assert response.status_code == 503
    assert response.get_json() == {"ok": False, "message": "验证码发送失败，请稍后重试", "retry_after": None}


def test_after_a_mail_that_finally_failed_the_next_answer_says_so(app, client, smtp, frozen_clock):
    app.config["QUEUE_RETRIES"] = 0  # the first failure is the last
    app.extensions["mail"].port = free_port()
    assert send_json(client, "register", "alice@example.com").get_json()["ok"] is True  # queued, then failed
    app.extensions["mail"].port = smtp.port
    frozen_clock.advance(60)
    response = send_json(client, "register", "alice@example.com")
    assert response.get_json() == {
        "ok": True,
        "message": "上一个验证码未能送达。验证码已发送，请查收邮件",
        "retry_after": 60,
    }
    assert smtp.last_code("alice@example.com")


@BOTH_STORES
def test_a_client_ip_gets_twenty_sends_an_hour_then_429(app, client, smtp):
    limit = app.config["CODE_SENDS_PER_IP_PER_HOUR"]
    assert limit == 20
    browsers = [client, *(app.test_client() for _ in range(4))]  # five customers behind one address
    for number in range(limit):
        assert send_json(browsers[number % 5], "register", f"user{number}@example.com").status_code == 200
    response = send_json(app.test_client(), "register", "one-more@example.com")
    assert response.status_code == 429
    answer = response.get_json()
    assert answer["ok"] is False and answer["message"] == "您的操作过于频繁，请稍后再试。"
    assert 0 < answer["retry_after"] <= 3600
    assert len(smtp.messages()) == limit
    assert client.get("/test/codes/email").status_code == 200  # pages themselves are not limited


def test_without_a_wizard_login_nothing_is_sent(browser, smtp):
    stranger_page = browser.get("/login/pwd")  # no 免登 behind it
    response = browser.send(stranger_page, "/codes/send", {"purpose": "register", "identifier": "victim@example.com"})
    assert response.status == 401 and response.json["ok"] is False
    assert "重新点击「免登」" in response.json["message"]
    assert smtp.messages() == []


@BOTH_STORES
def test_a_stranger_cannot_use_up_a_customers_codes(app, client, smtp, frozen_clock):
    assert app.config["CODE_SENDS_PER_SESSION_PER_HOUR"] < app.config["CODE_SENDS_PER_KEY_PER_HOUR"]
    for _ in range(app.config["CODE_SENDS_PER_SESSION_PER_HOUR"]):  # each after the address's cooldown
        assert send_json(client, "register", "victim@example.com").status_code == 200
        frozen_clock.advance(61)
    stopped = send_json(client, "register", "someone-else@example.com")
    assert stopped.status_code == 429 and stopped.get_json()["message"] == "您的操作过于频繁，请稍后再试。"
    customer = app.test_client()  # the address's owner, in a wizard session of their own
    assert send_json(customer, "register", "victim@example.com").status_code == 200
