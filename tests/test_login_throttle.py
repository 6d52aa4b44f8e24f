"""Password guessing per account: a doubling wait after 5 failures, at most 100 failures an hour from
any addresses, then no password logins for the rest of the hour and one email to the owner. An
unknown username gets exactly the same answers. On both stores (database, Redis)."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import pytest

from devtools.customer import Browser, Page
from devtools.factories import PASSWORD, GuanceAccountFactory
from wizard.services import login_throttle

from .conftest import BOTH_STORES

_addresses = count(1)


@pytest.fixture
def owner(db):
    GuanceAccountFactory(username="guessed", email="guessed@acme.example")


class Guesser:
    """Password logins from a new client address each time (so the per-IP limit never applies)."""

    def __init__(self, client, username="guessed") -> None:
        self.client, self.username = client, username
        self.token = Browser.of(client).get("/login/pwd").csrf_token

    def try_password(self, password="wrong-password-123"):
        address = f"10.{next(_addresses) // 65536 % 256}.{next(_addresses) // 256 % 256}.{next(_addresses) % 256}"
        data = {"site": "cn1", "username": self.username, "password": password, "csrf_token": self.token}
        return self.client.post("/login/pwd", data=data, environ_base={"REMOTE_ADDR": address})


def answer(response) -> tuple[int, str]:
    """The status and the message next to the password field."""
    page = Page.of(response)
    return page.status, page.error("password")


@BOTH_STORES
def test_after_five_failures_each_wait_doubles_up_to_30_seconds(client, owner, frozen_clock):
    guesser = Guesser(client)
    assert [guesser.try_password().status_code for _ in range(5)] == [200] * 5
    waits = []
    for _ in range(8):
        refused = guesser.try_password()
        assert refused.status_code == 429
        waits.append(int(re.search(r"请 (\d+) 秒后再试", answer(refused)[1]).group(1)))
        frozen_clock.advance(waits[-1] - 1)
        assert guesser.try_password().status_code == 429  # a second early: still waiting, nothing counted
        frozen_clock.advance(1)
        assert guesser.try_password().status_code == 200
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]


@BOTH_STORES
def test_the_right_password_waits_like_any_other(client, owner, frozen_clock):
    guesser = Guesser(client)
    for _ in range(6):
        guesser.try_password()
    assert guesser.try_password(PASSWORD).status_code == 429
    frozen_clock.advance(2)
    assert guesser.try_password(PASSWORD).headers["Location"] == "/console/"


@BOTH_STORES
def test_100_failures_an_hour_from_any_addresses_lock_password_logins_and_tell_the_owner_once(
    client, owner, frozen_clock, smtp
):
    guesser = Guesser(client)
    for _ in range(100):
        assert guesser.try_password().status_code == 200
        frozen_clock.advance(30)  # 100 failures in 50 minutes, each after its wait
    status, message = answer(guesser.try_password(PASSWORD))
    assert status == 429 and "暂停密码登录，请 10 分钟后再试" in message
    frozen_clock.advance(9 * 60)
    assert guesser.try_password(PASSWORD).status_code == 429
    notices = smtp.messages(to="guessed@acme.example")
    assert len(notices) == 1 and "密码登录已暂停" in notices[0].subject
    assert "guessed" in notices[0].text and "如果不是您本人操作" in notices[0].text
    frozen_clock.advance(60)  # an hour after the first of the 100 failures
    assert guesser.try_password(PASSWORD).headers["Location"] == "/console/"


def test_an_unknown_username_gets_exactly_the_same_answers(app, client, owner, frozen_clock):
    app.config["LOGIN_FAILURES_PER_HOUR"] = 8

    def answers(username):
        guesser = Guesser(app.test_client(), username)
        seen = []
        for _ in range(10):
            seen.append(answer(guesser.try_password()))
            frozen_clock.advance(30)
        return seen

    known, unknown = answers("guessed"), answers("nobody_here")
    assert known == unknown
    assert [status for status, _message in known] == [200] * 8 + [429] * 2


def test_attempts_older_than_an_hour_are_pruned(app, client, owner, frozen_clock):
    guesser = Guesser(client)
    guesser.try_password()
    frozen_clock.advance(3600)
    result = app.test_cli_runner().invoke(args=["limits", "prune"])
    assert "1 login attempts" in result.output


@pytest.mark.parametrize("database, store", [("postgresql", "database"), ("sqlite", "redis")], indirect=True)
def test_simultaneous_guesses_at_the_cap_check_at_most_one_password(app, frozen_clock):
    app.config.update(LOGIN_FAILURES_PER_HOUR=3, LOGIN_FAILURES_BEFORE_DELAY=100)  # the cap alone
    checked, barrier = [], threading.Barrier(10)

    def guess(wait: bool):
        with app.test_request_context():
            if wait:
                barrier.wait()
            try:
                with login_throttle.attempt("cn1", "guessed"):
                    checked.append(1)  # a password check that fails
            except login_throttle.LoginThrottled:
                pass

    guess(False), guess(False)  # two failures already: one more is allowed
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(guess, [True] * 10))
    assert len(checked) <= 3  # never a fourth check in the hour, whatever arrived at once
