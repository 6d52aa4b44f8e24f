"""L1 /login/pwd: the credentials created in the wizard log in; the console shows the settlement."""

import pytest

from .activation import PASSWORD, activate_by_binding, add_billing_account
from .conftest import BOTH_STORES

OWNER = {"site": "cn1", "username": "acme_owner", "password": PASSWORD}


@pytest.fixture
def activated(db, customer):
    add_billing_account()
    return activate_by_binding(customer)


def log_in(browser, **changes):
    return browser.submit("/login/pwd", {**OWNER, **changes})


def test_success_leads_to_the_login_page_with_the_site(browser, activated):
    link = "/login/pwd?site=cn1&username=acme_owner"
    assert browser.get("/activate/success").links("a[href^='/login/pwd']") == [link]
    page = browser.get(link)
    assert page.value("site") == "cn1" and page.value("username") == "acme_owner"
    labels = [page.text_of(f"label[for={name}]") for name in ("site", "username", "password")]
    assert labels == ["站点", "用户名", "密码"]


def test_the_credentials_log_in_and_the_console_shows_the_settlement(browser, activated):
    assert log_in(browser).location == "/console/"
    page = browser.get("/console/").text
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
    assert "从安装 DataKit 开始" in browser.get("/console/datakit").text


def test_usernames_are_case_insensitive(browser, activated):
    assert log_in(browser, username="ACME_Owner").location == "/console/"


@pytest.mark.parametrize(
    "changes",
    [{"password": "Wrong1234"}, {"username": "nobody"}, {"site": "cn2"}],
    ids=["wrong-password", "unknown-user", "other-site"],
)
def test_any_wrong_pair_gets_one_generic_message(browser, activated, changes):
    page = log_in(browser, **changes)
    assert page.status == 200 and "用户名或密码错误" in page.text
    assert not page.value("password")
    assert browser.get("/console/").status == 302


def test_the_session_is_rotated_at_login(browser, activated):
    with browser.client.session_transaction() as session:
        session["planted"] = "by someone before login"
        before = dict(session)
    log_in(browser)
    with browser.client.session_transaction() as session:
        assert "planted" not in session and "market_login" not in session
        assert session["_user_id"] and session.get("csrf_token") != before.get("csrf_token")


def test_logout_is_a_post_and_ends_the_session(browser, activated):
    log_in(browser)
    assert browser.get("/logout").status == 405
    assert browser.submit("/console/", action="/logout").location == "/login/pwd"
    assert browser.get("/console/").location.startswith("/login/pwd")


def test_the_console_requires_a_login(browser):
    page = browser.get("/console/")
    assert page.status == 302 and page.location == "/login/pwd?next=%2Fconsole%2F"


@pytest.mark.parametrize(
    "target, expected",
    [("/console/datakit", "/console/datakit"), ("https://evil.example/", "/console/"), ("//evil.example", "/console/")],
)
def test_login_returns_only_to_pages_of_this_site(browser, activated, target, expected):
    assert browser.submit(f"/login/pwd?next={target}", OWNER).location == expected


@BOTH_STORES
def test_repeated_wrong_logins_are_limited(browser, activated):
    # Another username each time: the per-account throttle (tests/test_login_throttle.py) never applies.
    statuses = [log_in(browser, username=f"guess{n}", password="Wrong1234").status for n in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_the_login_limit_is_a_setting(app, browser, activated):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 2
    statuses = [log_in(browser, username=f"guess{n}", password="Wrong1234").status for n in range(3)]
    assert statuses == [200, 200, 429]
