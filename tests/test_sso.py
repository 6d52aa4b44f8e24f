"""The login-free entry: signature, time window, single use, instance state, fresh session, routing."""

import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from devtools.customer import Browser
from wizard import clock
from wizard.models import BillingAccount, CloudAccountBinding, MarketplaceInstance, SpiCall, SsoNonce
from wizard.services.sso import MarketplaceLogin, issue_marketplace_login, read_marketplace_login

from .marketplace import call_spi, create_instance, login_free_url, spi_time

BACK_TO_MARKET = "请返回阿里云云市场的「已购买的服务」，重新点击「免登」。"


def refused(page, reason_text: str, status: int = 400):
    """The refusal page (免登失败 and why), once it has the status and says why."""
    assert page.status == status
    assert reason_text in page.text
    return page


def test_a_new_customer_lands_on_the_chooser_with_a_fresh_session(client, app):
    instance_id = create_instance(client, app)
    with client.session_transaction() as session:
        session["left_over"] = "from a previous visitor"
    response = client.get(login_free_url(app, instance_id))
    assert response.status_code == 302
    assert response.headers["Location"] == "/activate/"
    with client.session_transaction() as session:
        assert "left_over" not in session
        login = read_marketplace_login(session["market_login"], app.config["SECRET_KEY"], 60)
    assert login == MarketplaceLogin(ali_uid="1380000000000001", instance_id=instance_id)


def test_an_account_already_bound_lands_on_bind_workspaces(client, app, db):
    billing = BillingAccount(username="b", email="b@example.com", password_hash="x")
    db.session.add_all([billing, CloudAccountBinding(ali_uid="1380000000000001", billing_account=billing)])
    db.session.commit()
    instance_id = create_instance(client, app)
    assert client.get(login_free_url(app, instance_id)).headers["Location"] == "/bind/workspaces"


def test_the_chooser_page_greets_the_aliyun_account(client, app):
    instance_id = create_instance(client, app)
    page = Browser.of(client).get(login_free_url(app, instance_id), follow=True).text
    assert "1380000000000001" in page and "没有费用中心账号" in page and "有费用中心账号" in page


def test_a_replayed_link_is_refused(client, app):
    url = login_free_url(app, create_instance(client, app))
    assert client.get(url).status_code == 302
    refused(Browser.of(app.test_client()).get(url), "此免登链接已经使用过")  # another browser: an attacker's replay


def test_a_double_click_in_the_same_browser_lands_where_the_first_click_did(client, app):
    url = login_free_url(app, create_instance(client, app))
    first = client.get(url)
    second = client.get(url)
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]


def test_a_replay_for_another_instance_is_refused_even_with_a_session(browser, client, app):
    mine = create_instance(client, app, "1380000000000001")
    theirs_url = login_free_url(app, create_instance(client, app, "1380000000000002"))
    assert app.test_client().get(theirs_url).status_code == 302  # used by its owner
    client.get(login_free_url(app, mine))
    refused(browser.get(theirs_url), "此免登链接已经使用过")


@pytest.mark.parametrize("seconds", [-300, 300])
def test_timestamps_just_inside_the_window_are_accepted(client, app, seconds):
    instance_id = create_instance(client, app)
    assert client.get(login_free_url(app, instance_id, clock.now() + timedelta(seconds=seconds))).status_code == 302


@pytest.mark.parametrize("seconds", [-302, 302, -86400])
def test_timestamps_just_outside_the_window_are_refused(browser, client, app, seconds):
    instance_id = create_instance(client, app)
    page = refused(
        browser.get(login_free_url(app, instance_id, clock.now() + timedelta(seconds=seconds))), "免登链接已过期"
    )
    assert BACK_TO_MARKET in page.text


def test_the_window_follows_the_setting(browser, client, app):
    app.config["SSO_WINDOW_SECONDS"] = 30
    instance_id = create_instance(client, app)
    refused(browser.get(login_free_url(app, instance_id, clock.now() - timedelta(seconds=60))), "免登链接已过期")


@pytest.mark.parametrize("name", ["action", "instanceId", "timeStamp", "token"])
def test_each_parameter_tampered_is_refused(client, app, name):
    instance_id = create_instance(client, app)
    url = login_free_url(app, instance_id)
    head, query = url.split("?")
    parts = dict(p.split("=", 1) for p in query.split("&"))
    parts[name] = parts[name][:-1] + ("0" if parts[name][-1] != "0" else "1")
    tampered = head + "?" + "&".join(f"{k}={v}" for k, v in parts.items())
    response = client.get(tampered)
    assert response.status_code in (400, 403)  # a changed action is no longer a login-free request
    with client.session_transaction() as session:
        assert "market_login" not in session


def test_a_forged_token_for_another_instance_is_refused(browser, client, app):
    mine = create_instance(client, app, "1380000000000001")
    theirs = create_instance(client, app, "1380000000000002")
    url = login_free_url(app, mine).replace(mine, theirs)
    refused(browser.get(url), "免登链接的签名无效")


def test_a_malformed_timestamp_is_refused(browser, client, app):
    instance_id = create_instance(client, app)
    url = login_free_url(app, instance_id).split("?")[0]
    from .marketplace import signed_query

    refused(
        browser.get(f"{url}?{signed_query(app, action='verify', instanceId=instance_id, timeStamp='tomorrow')}"),
        "时间格式不正确",
    )


def test_an_unknown_instance_is_refused(browser, client, app):
    refused(browser.get(login_free_url(app, "no-such-instance")), "找不到该商品实例")


def test_a_released_instance_is_refused(browser, client, app):
    instance_id = create_instance(client, app)
    call_spi(client, app, action="releaseInstance", instanceId=instance_id, isRefund="false")
    refused(browser.get(login_free_url(app, instance_id)), "该商品实例已关闭")


EXPIRED_UNBOUND = "该商品实例已过期，尚未绑定工作空间"


def test_an_expired_instance_without_a_workspace_says_to_renew(browser, client, app):
    """Nothing to lock: the page says the instance expired and that a renewal lets the activation go on.
    (An expired instance with a workspace enters, to the lock page: tests/test_lifecycle.py.)"""
    instance_id = create_instance(client, app)
    call_spi(client, app, action="expiredInstance", instanceId=instance_id)
    page = refused(browser.get(login_free_url(app, instance_id)), EXPIRED_UNBOUND, status=403)
    assert "续费" in page.text


def test_an_instance_past_its_expiry_date_is_expired_even_if_expired_instance_never_came(
    browser, client, app, db, frozen_clock
):
    instance_id = create_instance(client, app, expiredOn=spi_time(frozen_clock.now() + timedelta(days=1)))
    frozen_clock.advance(24 * 3600 + 1)
    page = browser.get(login_free_url(app, instance_id, frozen_clock.now()))
    refused(page, EXPIRED_UNBOUND, status=403)
    assert "续费" in page.text
    assert db.session.scalar(select(MarketplaceInstance.status)) == "expired"


def test_refusals_are_recorded_and_never_start_a_session(client, app, db):
    client.get(login_free_url(app, "no-such-instance"))
    with client.session_transaction() as session:
        assert "market_login" not in session
    assert db.session.scalar(select(SpiCall.outcome).where(SpiCall.action == "verify")) == "unknown_instance"


def test_used_tokens_are_pruned_once_past_the_window(client, app, db, monkeypatch):
    client.get(login_free_url(app, create_instance(client, app)))
    assert db.session.query(SsoNonce).count() == 1
    later = clock.now() + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    client.get(login_free_url(app, create_instance(client, app)))
    assert db.session.query(SsoNonce).count() == 1


def test_wizard_pages_without_a_marketplace_login_explain_the_way_in(client):
    page = Browser.of(client).get("/activate/")
    assert page.status == 401
    assert BACK_TO_MARKET in page.text


def test_an_expired_or_forged_marketplace_login_is_worthless(app):
    token = issue_marketplace_login(MarketplaceLogin("1", "i"), app.config["SECRET_KEY"])
    assert read_marketplace_login(token, "another-secret", 60) is None
    assert read_marketplace_login(token + "x", app.config["SECRET_KEY"], 60) is None
    assert read_marketplace_login(token, app.config["SECRET_KEY"], -1) is None


def test_the_same_link_again_after_the_instance_expired_says_it_expired(browser, client, app, frozen_clock):
    """Two 免登 links within one second carry the same token: the second is a replay. In the browser that
    used the first, a replay used to go to the wizard's entry, which for an expired instance is the
    "enter from the marketplace" page (seen as a flaky e2e test); it must say that the instance expired."""
    instance_id = create_instance(client, app)
    link = login_free_url(app, instance_id, frozen_clock.now())
    assert client.get(link).headers["Location"] == "/activate/"
    call_spi(client, app, action="expiredInstance", instanceId=instance_id)
    page = refused(browser.get(link), EXPIRED_UNBOUND, status=403)
    assert page.title == "实例已过期"


# ---- 免登 of another Aliyun account while one is mid-flow (login CSRF) ----

VICTIM, ATTACKER = "1380000000000001", "1380000000000066"


@pytest.fixture
def mid_flow(client, app):
    """A customer in the middle of the flow; an attacker's fresh 免登 link for another Aliyun account."""
    client.get(login_free_url(app, create_instance(client, app, VICTIM)))
    return login_free_url(app, create_instance(client, app, ATTACKER))


def current_uid(client, app) -> str:
    with client.session_transaction() as session:
        return read_marketplace_login(session.get("market_login"), app.config["SECRET_KEY"], 3600).ali_uid


def choose(client, button: str, page=None):
    """继续 or 取消 on the confirmation, with the CSRF token of `page` (default: the wizard's page now)."""
    browser = Browser.of(client)
    return browser.submit(page or browser.get("/activate/"), {button: "1"}, action="/login-free/switch")


def test_a_login_free_of_another_account_asks_before_replacing_the_session(client, app, mid_flow):
    browser = Browser.of(client)
    page = browser.get(mid_flow)
    assert (
        "当前阿里云账号" in page.text
        and VICTIM in page.text
        and "新的阿里云账号" in page.text
        and ATTACKER in page.text
    )
    buttons = page.form("form[action='/login-free/switch']").submit_buttons()
    assert [(button["name"], button["value"]) for button in buttons] == [("proceed", "继续"), ("cancel", "取消")]
    assert current_uid(client, app) == VICTIM
    assert "没有费用中心账号" in browser.get("/activate/").text  # the customer's own flow goes on


def test_cancel_keeps_the_current_account_and_continue_then_does_nothing(client, app, mid_flow):
    client.get(mid_flow)
    assert choose(client, "cancel").location == "/activate/"
    assert current_uid(client, app) == VICTIM
    choose(client, "proceed")  # the held login was dropped with 取消: nothing to continue
    assert current_uid(client, app) == VICTIM


def test_continue_switches_once(client, app, mid_flow):
    client.get(mid_flow)
    assert choose(client, "proceed").location == "/activate/"
    assert current_uid(client, app) == ATTACKER
    client.get(login_free_url(app, create_instance(client, app, VICTIM)))  # held again, for the other way
    choose(client, "cancel")
    assert choose(client, "proceed").status == 302 and current_uid(client, app) == ATTACKER


def test_continue_cannot_be_forged_from_another_site(client, app, mid_flow):
    client.get(mid_flow)
    response = client.post("/login-free/switch", data={"proceed": "1"})  # no CSRF token: a cross-site form
    assert response.status_code == 400 and current_uid(client, app) == VICTIM
    assert client.get("/login-free/switch").status_code == 405


def test_the_held_login_free_expires(client, app, mid_flow, monkeypatch):
    client.get(mid_flow)
    page = Browser.of(client).get("/activate/")
    later = int(time.time()) + app.config["LOGIN_FREE_CONFIRM_SECONDS"] + 1
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: later)
    response = choose(client, "proceed", page)
    assert current_uid(client, app) == VICTIM
    assert "确认已超时" in Browser.of(client).follow(response).flashed()


def test_a_login_free_of_the_same_account_proceeds_at_once(client, app, mid_flow):
    response = client.get(login_free_url(app, create_instance(client, app, VICTIM)))
    assert response.status_code == 302 and current_uid(client, app) == VICTIM
