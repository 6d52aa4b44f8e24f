"""L1 /login/pwd: the credentials created in the wizard log in; the console shows the settlement."""

import pytest

from .activation import PASSWORD, activate_by_binding, add_billing_account
from .conftest import BOTH_STORES
from .helpers import submit, text_of

OWNER = {"site": "cn1", "username": "acme_owner", "password": PASSWORD}


@pytest.fixture
def activated(client, app, db, smtp):
    add_billing_account()
    return activate_by_binding(client, app, smtp)


def log_in(client, **changes):
    return submit(client, "/login/pwd", {**OWNER, **changes})


def test_success_leads_to_the_login_page_with_the_site(client, activated):
    assert 'href="/login/pwd?site=cn1&amp;username=acme_owner"' in text_of(client.get("/activate/success"))
    page = text_of(client.get("/login/pwd?site=cn1&username=acme_owner"))
    assert 'value="acme_owner"' in page
    assert "站点" in page and "用户名" in page and "密码" in page


def test_the_credentials_log_in_and_the_console_shows_the_settlement(client, activated):
    response = log_in(client)
    assert response.headers["Location"] == "/console/"
    page = text_of(client.get("/console/"))
    for text in (
        "生产环境",
        "商业版",
        "阿里云账号结算",
        "1380000000000001",
        activated,
        "已开通",
        "运维",
        "中国区1（杭州）",
        "从安装 DataKit 开始",
    ):
        assert text in page, text
    assert "从安装 DataKit 开始" in text_of(client.get("/console/datakit"))


def test_usernames_are_case_insensitive(client, activated):
    assert log_in(client, username="ACME_Owner").headers["Location"] == "/console/"


@pytest.mark.parametrize(
    "changes",
    [{"password": "Wrong1234"}, {"username": "nobody"}, {"site": "cn2"}],
    ids=["wrong-password", "unknown-user", "other-site"],
)
def test_any_wrong_pair_gets_one_generic_message(client, activated, changes):
    response = log_in(client, **changes)
    page = text_of(response)
    assert response.status_code == 200 and "用户名或密码错误" in page
    assert 'value="Wrong1234"' not in page
    assert client.get("/console/").status_code == 302


def test_the_session_is_rotated_at_login(client, activated):
    with client.session_transaction() as session:
        session["planted"] = "by someone before login"
        before = dict(session)
    log_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session and "market_login" not in session
        assert session["_user_id"] and session.get("csrf_token") != before.get("csrf_token")


def test_logout_is_a_post_and_ends_the_session(client, activated):
    log_in(client)
    assert client.get("/logout").status_code == 405
    response = submit(client, "/console/", action="/logout")
    assert response.headers["Location"] == "/login/pwd"
    assert client.get("/console/").headers["Location"].startswith("/login/pwd")


def test_the_console_requires_a_login(client):
    response = client.get("/console/")
    assert response.status_code == 302 and response.headers["Location"] == "/login/pwd?next=%2Fconsole%2F"


@pytest.mark.parametrize(
    "target, expected",
    [("/console/datakit", "/console/datakit"), ("https://evil.example/", "/console/"), ("//evil.example", "/console/")],
)
def test_login_returns_only_to_pages_of_this_site(client, activated, target, expected):
    response = submit(client, f"/login/pwd?next={target}", OWNER)
    assert response.headers["Location"] == expected


@BOTH_STORES
def test_repeated_wrong_logins_are_limited(client, activated):
    # Another username each time: the per-account throttle (tests/test_login_throttle.py) never applies.
    statuses = [log_in(client, username=f"guess{n}", password="Wrong1234").status_code for n in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_the_login_limit_is_a_setting(app, client, activated):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 2
    statuses = [log_in(client, username=f"guess{n}", password="Wrong1234").status_code for n in range(3)]
    assert statuses == [200, 200, 429]
