"""Styled error pages in the page's language, never a stack trace."""

import logging

import pytest
from flask import abort
from sqlalchemy.exc import OperationalError

from devtools.customer import Browser
from wizard.extensions import limiter
from wizard.models import LoginAttempt


@pytest.fixture
def app(app):
    """The application with a few routes that fail on purpose, answered as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    @app.get("/forbidden")
    def forbidden():
        abort(403)

    @app.get("/database-down")
    def database_down():
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    @app.get("/limited")
    @limiter.limit("1 per minute")
    def limited():
        return "ok"

    return app


@pytest.mark.parametrize(
    "method, path, status, title",
    [
        ("get", "/nowhere", 404, "页面不存在"),
        ("get", "/language", 405, "不支持的操作"),
        ("post", "/language", 400, "请求无效"),
        ("get", "/forbidden", 403, "没有权限"),
        ("get", "/boom", 500, "服务出错了"),
        ("get", "/database-down", 503, "服务暂时不可用"),
    ],
)
def test_error_pages_are_styled_and_in_chinese(browser, method, path, status, title):
    page = browser.open(method.upper(), path)
    assert page.status == status
    assert page.text_of("h1#error-title") == title
    assert "Traceback" not in page.text and "secret internal detail" not in page.text
    assert page.lang == "zh-CN"


def test_error_pages_follow_the_browser_language(browser):
    assert browser.get("/nowhere", headers={"Accept-Language": "en-US,en;q=0.9"}).lang == "en"


def test_a_server_error_is_logged_with_its_cause(client, caplog):
    with caplog.at_level(logging.ERROR):
        client.get("/boom")
    assert "secret internal detail" in caplog.text


def test_too_many_requests_gets_the_styled_429(browser):
    assert browser.get("/limited").status == 200
    page = browser.get("/limited")
    assert page.status == 429
    assert "操作过于频繁" in page.text


def test_a_missing_csrf_token_explains_what_to_do(browser):
    assert "请刷新页面后重新提交" in browser.post("/language", {"lang": "en"}).text


def test_a_form_over_64_kib_gets_the_styled_413_before_anything_reads_it(client, db):
    assert client.application.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    big = {"site": "cn1", "username": "x" * (64 * 1024), "password": "whatever-it-is"}
    page = Browser.of(client).post("/login/pwd", big)
    assert page.status == 413 and "提交的内容过大" in page.title
    answer = client.post("/codes/send", data={"purpose": "register", "identifier": "x" * (64 * 1024)})
    assert answer.status_code == 413 and answer.get_json()["ok"] is False
    assert db.session.query(LoginAttempt).count() == 0  # refused before the throttle counted anything
