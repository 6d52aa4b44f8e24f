"""Styled error pages in the page's language, never a stack trace."""

import logging

import pytest
from flask import abort
from sqlalchemy.exc import OperationalError

from wizard.extensions import limiter
from wizard.models import LoginAttempt

from .helpers import text_of


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
def test_error_pages_are_styled_and_in_chinese(client, method, path, status, title):
    response = getattr(client, method)(path)
    assert response.status_code == status
    page = text_of(response)
    assert f'<h1 id="error-title">{title}</h1>' in page
    assert "Traceback" not in page and "secret internal detail" not in page
    assert 'lang="zh-CN"' in page


def test_error_pages_follow_the_browser_language(client):
    page = text_of(client.get("/nowhere", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert 'lang="en"' in page


def test_a_server_error_is_logged_with_its_cause(client, caplog):
    with caplog.at_level(logging.ERROR):
        client.get("/boom")
    assert "secret internal detail" in caplog.text


def test_too_many_requests_gets_the_styled_429(client):
    assert client.get("/limited").status_code == 200
    response = client.get("/limited")
    assert response.status_code == 429
    assert "操作过于频繁" in text_of(response)


def test_a_missing_csrf_token_explains_what_to_do(client):
    page = text_of(client.post("/language", data={"lang": "en"}))
    assert "请刷新页面后重新提交" in page


def test_a_form_over_64_kib_gets_the_styled_413_before_anything_reads_it(client, db):
    assert client.application.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    big = {"site": "cn1", "username": "x" * (64 * 1024), "password": "whatever-it-is"}
    response = client.post("/login/pwd", data=big)
    page = text_of(response)
    assert response.status_code == 413 and "提交的内容过大" in page and "<h1" in page
    answer = client.post("/codes/send", data={"purpose": "register", "identifier": "x" * (64 * 1024)})
    assert answer.status_code == 413 and answer.get_json()["ok"] is False
    assert db.session.query(LoginAttempt).count() == 0  # refused before the throttle counted anything
