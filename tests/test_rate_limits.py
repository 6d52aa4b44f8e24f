"""Per-IP limits are shared by every worker and instance: counted in the database (database://) or Redis."""

import threading
from contextlib import ExitStack

import pytest

from bench.servers import Gunicorn, ServerShape
from devtools.customer import Browser
from wizard.rate_limits import DatabaseStorage

from .conftest import BOTH_DATABASES, migrate_database


@BOTH_DATABASES
def test_simultaneous_hits_lose_no_count(app):
    storage = DatabaseStorage("database://")

    def hit():
        with app.app_context():
            for _ in range(25):
                storage.incr("login:127.0.0.1", 60)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        assert storage.get("login:127.0.0.1") == 200


def test_a_window_starts_again_once_it_is_over(app, frozen_clock):
    storage = DatabaseStorage("database://")
    with app.app_context():
        assert [storage.incr("codes:1.2.3.4", 3600) for _ in range(3)] == [1, 2, 3]
        ends = storage.get_expiry("codes:1.2.3.4")
        frozen_clock.advance(3599)
        assert storage.incr("codes:1.2.3.4", 3600) == 4 and storage.get_expiry("codes:1.2.3.4") == ends
        frozen_clock.advance(1)
        assert storage.get("codes:1.2.3.4") == 0
        assert storage.incr("codes:1.2.3.4", 3600) == 1
        storage.clear("codes:1.2.3.4")
        assert storage.get("codes:1.2.3.4") == 0 and storage.check()


def test_the_application_counts_in_the_database_by_default(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"


# ---- Two server instances on one store ----


@pytest.fixture(params=["database", "redis"])
def shared_store(request, tmp_path) -> dict:
    """The environment of two instances that share one SQLite database and, for "redis", one Redis."""
    path = tmp_path / "shared.db"
    migrate_database(f"sqlite:///{path}")
    env = {"APP_ENV": "development", "SECRET_KEY": "two-instances", "DATABASE_URL": f"sqlite:///{path}"}
    if request.param == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    return env


def test_two_instances_share_the_login_limit(shared_store, tmp_path):
    env = {**shared_store, "LOGIN_ATTEMPTS_PER_MINUTE": "3"}
    with ExitStack() as stack:
        first, second = (Gunicorn("wsgi:app", env, ServerShape(1, 2), tmp_path) for _ in range(2))
        for server in (first, second):
            stack.callback(server.stop)
            server.start("/login/pwd")
        browser = Browser.of(first.url)  # one browser: its session cookie travels to both instances
        stack.callback(browser.close)
        page = browser.get("/login/pwd")
        wrong = {"site": "cn1", "username": "someone", "password": "not-the-password"}
        statuses = [
            browser.submit(page, wrong, action=f"{server.url}/login/pwd").status for server in (first, second) * 2
        ]
    assert statuses == [200, 200, 200, 429]  # with a count per instance, each would have allowed two more
