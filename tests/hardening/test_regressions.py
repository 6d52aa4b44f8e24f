"""The bugs the hardening suite found, one test each, so they stay fixed (each failed before its fix)."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from devtools.customer import Browser, Page
from wizard import clock
from wizard.models import SpiCall
from wizard.services import codes, sso

from ..conftest import BOTH_DATABASES, customer_of
from ..marketplace import create_instance, signed_query, spi_time
from .states import Flow
from .support import FORM, assert_styled_error, form_body, query_string
from .tally import TALLY

pytestmark = pytest.mark.hardening
CATEGORY = "fuzz"  # each case counts in the category whose tests found the bug


@pytest.fixture
def app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a failure is the 500 page, as in production
    return app


def last_call(db) -> SpiCall:
    db.session.expire_all()
    return db.session.scalar(select(SpiCall).order_by(SpiCall.id.desc()).limit(1))


# ---- Input no form can use: refused at the door (security.refuse_unusable_input) ----


def test_a_file_sent_where_text_is_expected_is_refused_not_a_500(client, app):
    """Flask-WTF handed the upload to the text field's validators: TypeError, a 500."""
    customer_of(app, None, client).arrive("1380000000000001")
    token = Browser.of(client).get("/register/basic").csrf_token
    with TALLY.case(CATEGORY):
        response = client.post(
            "/register/basic",
            data={"csrf_token": token, "username": "newcorp", "phone": (io.BytesIO(b"13800138000"), "phone.txt")},
            content_type="multipart/form-data",
        )
        assert_styled_error(response, 400, "请求无效")


@pytest.mark.parametrize("page", ["/login/pwd", "/login-free/switch"])  # the switch: a form of the spi blueprint
def test_a_multipart_field_without_a_usable_name_is_refused_not_a_500(client, app, page):
    """Werkzeug reads a part named with a raw newline as None, and Flask-WTF's CSRF check fails on it."""
    boundary = "hardening"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="\n"\r\n\r\nx\r\n--{boundary}--\r\n').encode()
    with TALLY.case(CATEGORY):
        response = client.post(page, data=body, content_type=f"multipart/form-data; boundary={boundary}")
        assert_styled_error(response, 400, "请求无效")


@BOTH_DATABASES
def test_nul_in_any_input_is_refused_not_a_500(client, app, smtp):
    """PostgreSQL cannot store or even compare a NUL: each of these was a 500 there (DataError)."""
    token = Browser.of(client).get("/login/pwd").csrf_token
    with TALLY.case(CATEGORY):
        response = client.post(
            "/login/pwd",
            data=form_body([("csrf_token", token), ("site", "cn1"), ("username", "a\x00b"), ("password", "x")]),
            content_type=FORM,
        )
        assert_styled_error(response, 400, "请求无效")
    customer_of(app, None, client).arrive("1380000000000001")
    token = Browser.of(client).get("/bind/billing").csrf_token
    with TALLY.case(CATEGORY):
        response = client.post(
            "/bind/billing",
            data=form_body([("csrf_token", token), ("username", "a\x00b"), ("send_code", "1")]),
            content_type=FORM,
        )
        assert_styled_error(response, 400, "请求无效")
    with TALLY.case(CATEGORY):  # the JSON endpoint says it in JSON
        response = client.post(
            "/codes/send",
            data=form_body([("purpose", "bind_billing"), ("identifier", "a\x00")]),
            content_type=FORM,
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 400 and response.get_json()["ok"] is False


@BOTH_DATABASES
def test_a_workspace_number_beyond_the_database_integers_is_not_found_not_a_500(client, app, smtp):
    """Found by the derandomized (CI) fuzzing: /bind/workspaces/2147483648 was "integer out of range"
    on PostgreSQL."""
    arranged = Flow(app, smtp).bound()
    for number in (2**31, 2**63, 10**30):
        with TALLY.case(CATEGORY):
            response = arranged.client.post(f"/bind/workspaces/{number}", data={"csrf_token": arranged.token})
            assert response.headers["Location"] == "/bind/workspaces"
            assert "找不到该工作空间" in arranged.browser.get("/bind/workspaces").text


# ---- The SPI: every input answered in its own protocol, and audited ----


@BOTH_DATABASES
def test_an_spi_call_with_nul_is_refused_and_audited_not_a_500(client, app, db):
    for pairs in (
        [("action", "a\x00b"), ("token", "x")],
        [("action", "createInstance"), ("a\x00", "1")],
        [("action", "createInstance"), ("aliUid", "1\x00"), ("token", "0" * 32)],
    ):
        with TALLY.case(CATEGORY):
            response = client.get("/spi?" + query_string(pairs))
            assert (response.status_code, response.get_json()["code"]) == (403, "InvalidToken")
            call = last_call(db)
            assert call.outcome == "InvalidToken" and "\x00" not in call.action + str(call.params)


@BOTH_DATABASES
def test_a_signed_login_free_link_to_a_malformed_instance_is_refused_not_a_500(client, app, db):
    """Only the key holder can sign one, but the query with a NUL failed on PostgreSQL all the same."""
    query = signed_query(app, action="verify", instanceId="biz\x00", timeStamp=spi_time(clock.now()))
    with TALLY.case(CATEGORY):
        response = client.get(f"/spi?{query}")
        assert response.status_code == 400 and "找不到该商品实例" in Page.of(response).text
        assert last_call(db).outcome == "unknown_instance"


def test_a_login_free_link_with_a_repeated_parameter_gets_the_page(client, app, db):
    """It used to get the SPI's JSON, in a browser, and was not audited."""
    instance_id = create_instance(client, app)
    query = signed_query(app, action="verify", instanceId=instance_id, timeStamp=spi_time(clock.now()))
    with TALLY.case("tampering"):
        response = client.get(f"/spi?{query}&instanceId={instance_id}")
        assert response.status_code == 400 and "免登链接的签名无效" in Page.of(response).text
        assert "请返回阿里云云市场的「已购买的服务」" in Page.of(response).text
        assert (last_call(db).action, last_call(db).outcome) == ("verify", "invalid_token")
        with client.session_transaction() as session:
            assert "market_login" not in session


def test_an_spi_call_with_a_repeated_parameter_is_audited(client, app, db):
    with TALLY.case("tampering"):
        response = client.get("/spi?action=releaseInstance&instanceId=a&instanceId=b&token=x")
        assert (response.status_code, response.get_json()["code"]) == (400, "InvalidParameter")
        assert (last_call(db).action, last_call(db).outcome) == ("releaseInstance", "InvalidParameter")


def test_a_login_free_link_replayed_in_the_last_second_of_its_window_is_refused(app, monkeypatch):
    """The window compares whole seconds, so it accepts a stamp until stamp + window + 1 s; the used
    token was forgotten at stamp + window, and a replay in that last second logged in again."""
    client = app.test_client()
    instance_id = create_instance(client, app)
    stamp = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    query = signed_query(app, action="verify", instanceId=instance_id, timeStamp=spi_time(stamp))
    monkeypatch.setattr(clock, "now", lambda: stamp + timedelta(seconds=299, microseconds=900_000))
    assert client.get(f"/spi?{query}").status_code == 302
    monkeypatch.setattr(clock, "now", lambda: stamp + timedelta(seconds=300, microseconds=500_000))
    with TALLY.case("tampering"):
        replay = app.test_client().get(f"/spi?{query}")
        assert replay.status_code == 400 and "此免登链接已经使用过" in Page.of(replay).text


def test_a_failure_on_the_login_free_entry_is_logged(client, app, monkeypatch, caplog):
    """The browser gets the styled page, and the cause is logged as for every other 500."""
    instance_id = create_instance(client, app)

    def explode(*_args):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(sso, "record_call", explode)
    query = signed_query(app, action="verify", instanceId=instance_id, timeStamp=spi_time(clock.now()))
    with TALLY.case("faults"), caplog.at_level(logging.ERROR):
        response = client.get(f"/spi?{query}")
        assert_styled_error(response, 500, "服务出错了")
        assert "secret internal detail" in caplog.text


# ---- The database down: the 503, in the style the caller reads ----


def database_gone(*_args, **_kwargs):
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_getting_a_code_answers_json_when_the_database_is_down(client, app, monkeypatch):
    """app.js reads JSON: the 503 used to be the HTML page."""
    customer_of(app, None, client).arrive("1380000000000001")  # only a customer in the wizard may ask for a code
    token = Browser.of(client).get("/activate/").csrf_token
    monkeypatch.setattr(codes, "request_code", database_gone)
    with TALLY.case("faults"):
        response = client.post(
            "/codes/send", data={"purpose": "register", "identifier": "a@example.com"}, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 503
        assert response.get_json() == {
            "ok": False,
            "message": "服务暂时不可用，请稍候片刻后重试。",
            "retry_after": None,
        }
