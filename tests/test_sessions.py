"""Server-side sessions: logout ends every copy, 8 h absolute and 30 min idle lifetimes, new ids at login and 免登.

Each runs on both stores: the database (default) and Redis (REDIS_URL).
"""

import pytest

from devtools.customer import Browser
from devtools.factories import PASSWORD, GuanceAccountFactory
from wizard.models import WebSession

from .conftest import BOTH_STORES

LOGIN = {"site": "cn1", "username": "session_owner", "password": PASSWORD}


@pytest.fixture
def account(db):
    GuanceAccountFactory(username="session_owner", email="owner@session.example")


def log_in(client):
    assert Browser.of(client).submit("/login/pwd", LOGIN).location == "/console/"


def session_id(client) -> str:
    return client.get_cookie("guance_session").value


def opens_console(client) -> bool:
    return client.get("/console/").status_code == 200


def copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie (stolen, or a second device)."""
    other = app.test_client()
    other.set_cookie("guance_session", session_id(client))
    return other


@BOTH_STORES
def test_logout_ends_every_copy_of_the_session(app, client, account):
    log_in(client)
    sid, stolen = session_id(client), copy_of(app, client)
    assert opens_console(stolen)
    Browser.of(client).submit("/console/", action="/logout")
    assert not opens_console(client) and not opens_console(stolen)
    with app.app_context():
        assert app.session_interface.stored(sid) is None


@BOTH_STORES
def test_the_cookie_holds_only_an_id(app, client, account):
    log_in(client)
    sid = session_id(client)
    assert len(sid) == 43 and "." not in sid  # 32 random bytes, no signed payload
    with app.app_context():
        assert app.session_interface.stored(sid)["_user_id"]


@BOTH_STORES
def test_login_moves_the_session_to_a_new_id(app, client, account):
    client.get("/login/pwd")  # an anonymous session (its CSRF token) exists before login
    before = session_id(client)
    log_in(client)
    assert session_id(client) != before
    with app.app_context():
        assert app.session_interface.stored(before) is None


@BOTH_STORES
def test_login_free_moves_the_session_to_a_new_id(app, client, customer):
    customer.arrive("1380000000000001")
    before = session_id(client)
    customer.arrive("1380000000000001")
    assert session_id(client) != before
    with app.app_context():
        assert app.session_interface.stored(before) is None


@BOTH_STORES
def test_use_never_extends_the_8_hour_lifetime(app, client, account, frozen_clock):
    log_in(client)
    for _ in range(8 * 60 // 20 - 1):  # used every 20 minutes: never idle
        frozen_clock.advance(20 * 60)
        assert opens_console(client)
    frozen_clock.advance(20 * 60)  # 8 hours after login
    assert not opens_console(client)


@BOTH_STORES
def test_30_idle_minutes_end_the_session(app, client, account, frozen_clock):
    log_in(client)
    frozen_clock.advance(29 * 60)
    assert opens_console(client)
    frozen_clock.advance(30 * 60)
    assert not opens_console(client)


def test_the_idle_timeout_is_a_setting(app, client, account, frozen_clock):
    app.config["SESSION_IDLE_SECONDS"] = 120
    log_in(client)
    frozen_clock.advance(121)
    assert not opens_console(client)


def test_an_expired_session_is_deleted_and_pruned(app, client, account, db, frozen_clock):
    log_in(client)
    log_in(copy_of(app, client))  # a second session, left to expire
    frozen_clock.advance(31 * 60)
    assert not opens_console(client)  # presented: deleted at once
    assert db.session.query(WebSession).count() == 2  # the other one and this browser's new anonymous one
    app.test_cli_runner().invoke(args=["session_cleanup"])
    assert db.session.query(WebSession).count() == 1
