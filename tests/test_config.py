"""Settings: defaults, then the environment, then the mapping given to create_app."""

import subprocess
import sys
from pathlib import Path

import pytest

from wizard import config, create_app

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_embedded_development_setup():
    settings = config.load(environ={})
    assert settings["APP_ENV"] == "development"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{config.INSTANCE_DIR / 'wizard.db'}"
    assert settings["MAIL_SERVER"] == "127.0.0.1"
    assert settings["DEV_MAILBOX"] is True
    assert settings["SSO_WINDOW_SECONDS"] == 300
    assert settings["MAIL_TIMEOUT"] == 10.0


def test_environment_overrides_defaults_and_mapping_overrides_environment():
    environ = {"SSO_WINDOW_SECONDS": "120", "MAIL_PORT": "2525", "ISV_KEY": "from-env"}
    settings = config.load({"MAIL_PORT": 1025}, environ=environ)
    assert settings["SSO_WINDOW_SECONDS"] == 120
    assert settings["ISV_KEY"] == "from-env"
    assert settings["MAIL_PORT"] == 1025


def test_the_queue_is_a_sqlite_file_unless_redis_is_named_and_runs_tasks_inline_only_when_testing():
    settings = config.load(environ={})
    assert settings["REDIS_URL"] is None and settings["QUEUE_IMMEDIATE"] is False
    assert settings["QUEUE_SQLITE_PATH"] == str(config.INSTANCE_DIR / "queue.db")
    assert config.load({"APP_ENV": "testing"}, environ={})["QUEUE_IMMEDIATE"] is True
    environ = {"REDIS_URL": "redis://cache:6379/1", "QUEUE_IMMEDIATE": "0", "QUEUE_RETRY_BACKOFF": "2"}
    worker = config.load({"APP_ENV": "testing"}, environ=environ)  # a test's worker process
    assert (worker["REDIS_URL"], worker["QUEUE_IMMEDIATE"], worker["QUEUE_RETRY_BACKOFF"]) == (
        "redis://cache:6379/1",
        False,
        2.0,
    )


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://u:p@db/wizard", "postgresql+psycopg://u:p@db/wizard"),
        ("postgresql://u@db:5433/wizard", "postgresql+psycopg://u@db:5433/wizard"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_selects_psycopg3_for_postgresql(url, expected):
    assert config.load(environ={"DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == expected


@pytest.mark.parametrize("url, pings", [("postgresql://u@db/wizard", True), ("sqlite:////tmp/x.db", False)])
def test_pooled_connections_are_tested_only_where_a_server_can_drop_them(url, pings):
    assert config.load(environ={"DATABASE_URL": url})["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": pings}
    chosen = {"pool_pre_ping": True, "pool_size": 3}
    assert (
        config.load({"SQLALCHEMY_ENGINE_OPTIONS": chosen}, environ={"DATABASE_URL": url})["SQLALCHEMY_ENGINE_OPTIONS"]
        == chosen
    )


def test_a_malformed_number_in_the_environment_is_explained():
    with pytest.raises(config.ConfigError, match="SSO_WINDOW_SECONDS='soon'"):
        config.load(environ={"SSO_WINDOW_SECONDS": "soon"})


def test_the_lock_countdown_and_its_reminders_come_from_the_environment():
    settings = config.load(environ={"LOCK_COUNTDOWN_DAYS": "0.002", "LOCK_REMINDER_DAYS": "3, 1"})
    assert (settings["LOCK_COUNTDOWN_DAYS"], settings["LOCK_REMINDER_DAYS"]) == (0.002, (3, 1))
    assert config.load(environ={})["LOCK_REMINDER_DAYS"] == (7, 1)


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"LOCK_COUNTDOWN_DAYS": "0"}, "LOCK_COUNTDOWN_DAYS must be a number of days above 0"),
        ({"LOCK_COUNTDOWN_DAYS": "-3"}, "LOCK_COUNTDOWN_DAYS must be a number of days above 0"),
        ({"LOCK_REMINDER_DAYS": "7,0"}, "LOCK_REMINDER_DAYS must be whole days of at least 1"),
        ({"LOCK_REMINDER_DAYS": "a week"}, "LOCK_REMINDER_DAYS='a week' is not valid"),
    ],
)
def test_an_unusable_lock_countdown_is_explained(environ, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load(environ=environ)


PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 32,
    "ISV_KEY": "k" * 16,
    "PUBLIC_BASE_URL": "https://console.guance.example",
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ISV_KEY", "PUBLIC_BASE_URL"])
def test_production_refuses_to_start_without_its_secrets_and_public_address(missing):
    environ = dict(PRODUCTION)
    del environ[missing]
    with pytest.raises(config.ConfigError, match=missing):
        config.load(environ=environ)


def test_production_refuses_the_development_secret():
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load(environ=PRODUCTION | {"SECRET_KEY": config.DEV_SECRET_KEY})


@pytest.mark.parametrize("base", ["console.guance.example", "/relative", "ftp://console.guance.example", "https://"])
def test_production_refuses_a_public_address_that_is_not_an_absolute_http_url(base):
    with pytest.raises(config.ConfigError, match="PUBLIC_BASE_URL"):
        config.load(environ=PRODUCTION | {"PUBLIC_BASE_URL": base})


def test_in_development_the_public_address_and_the_marketplace_follow_the_ports():
    settings = config.load(environ={"PORT": "6000", "MARKET_PORT": "6001"})
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:6000"
    assert settings["MARKETPLACE_CONSOLE_URL"] == "http://127.0.0.1:6001/instances"


def test_production_with_secrets_hides_the_dev_mailbox_and_secures_cookies():
    app = create_app({**PRODUCTION, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "devmail" not in app.blueprints


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PUBLIC_BASE_URL"])
def test_wsgi_start_up_without_a_required_setting_stops_with_one_line(missing):
    environ = {"PATH": "/usr/bin:/bin"} | {k: v for k, v in PRODUCTION.items() if k != missing}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Configuration error: {missing} must be set in the environment when APP_ENV=production."
    ]


def test_unknown_profile_is_refused():
    with pytest.raises(config.ConfigError, match="APP_ENV='staging'"):
        config.load(environ={"APP_ENV": "staging"})


def test_behind_one_proxy_the_client_address_comes_from_x_forwarded_for():
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXY_COUNT": 1})

    @app.get("/whoami")
    def whoami():
        from flask import request

        return request.remote_addr

    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == "203.0.113.7"
