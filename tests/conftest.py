"""Fixtures that read like the flow: `app`, `client`, `db`, `smtp`, and PostgreSQL when asked.

A test runs on SQLite unless it asks for both databases:

    @pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade

from devtools.alibaba import Alibaba
from devtools.customer import Browser, Customer
from devtools.pgcluster import PostgresCluster, find_bindir
from devtools.redisserver import RedisServer, find_redis_server
from devtools.smtp import SmtpSink
from marketplace import clock as market_clock
from marketplace import create_app as create_marketplace
from marketplace.extensions import db as _market_db
from wizard import clock, create_app
from wizard.extensions import db as _db

from .metering import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SDK_TIMEOUT, START, LiveMarket, MeteringClock

BOTH_DATABASES = pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
# Where sessions, rate limits and login attempts live: the application's database, or Redis (REDIS_URL).
BOTH_STORES = pytest.mark.parametrize("store", ["database", "redis"], indirect=True)


def required(variable: str) -> bool:
    return os.environ.get(variable) == "1"


def unavailable(variable: str, reason: str):
    """Skip, or fail when the run demands the suite (REQUIRE_POSTGRES=1, REQUIRE_BROWSER=1)."""
    if required(variable):
        pytest.fail(f"{reason} ({variable}=1)", pytrace=False)
    pytest.skip(reason)


def settings_for_tests(database_uri: str, smtp: SmtpSink, **extra) -> dict:
    return {
        "APP_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_TIMEOUT": 5.0,
        "DEV_MAILBOX_DIR": str(smtp.maildir),
        # Tasks run inside the request whatever the profile, unless a test asks for a real queue.
        "QUEUE_IMMEDIATE": True,
        **extra,
    }


@contextmanager
def app_with(database_uri: str, smtp: SmtpSink, **settings):
    """An application of its own (other settings), inside a request context as a page calls services."""
    app = create_app(settings_for_tests(database_uri, smtp, **settings))
    with app.test_request_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


def migrate_database(uri: str) -> None:
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade()
        _db.engine.dispose()


def marketplace_settings(database_uri: str, guance_app=None, **extra) -> dict:
    """The simulator in testing, calling the Guance side's SPI in-process (httpx's WSGI transport)."""
    transport = httpx.WSGITransport(app=guance_app) if guance_app is not None else None
    return {
        "APP_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SPI_URL": "http://localhost/spi",
        "SPI_TRANSPORT": transport,
        **extra,
    }


def migrate_marketplace(uri: str) -> None:
    app = create_marketplace({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade()
        _market_db.engine.dispose()


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    sink = SmtpSink.start(tmp_path_factory.mktemp("mail"))
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_server: SmtpSink) -> SmtpSink:
    """The real SMTP server the application sends to, emptied for each test (and accepting mail again)."""
    smtp_server.clear()
    smtp_server.refuse(0)
    return smtp_server


@pytest.fixture
def silent_smtp_port():
    """A server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    for connection in accepted:
        connection.close()


def start_postgres() -> PostgresCluster:
    """A throwaway cluster, started (skipped, or failed under REQUIRE_POSTGRES=1, without the binaries)."""
    bindir = find_bindir()
    if bindir is None:
        unavailable("REQUIRE_POSTGRES", "PostgreSQL server binaries not found (apt-get install postgresql)")
    return PostgresCluster(bindir).start()


@pytest.fixture(scope="session")
def postgres():
    cluster = start_postgres()
    yield cluster
    cluster.stop()


def start_redis() -> RedisServer:
    """A throwaway Redis, started (skipped, or failed under REQUIRE_REDIS=1, without redis-server)."""
    executable = find_redis_server()
    if executable is None:
        unavailable("REQUIRE_REDIS", "redis-server not found (apt-get install redis-server)")
    return RedisServer(executable).start()


@pytest.fixture(scope="session")
def redis_server():
    """One Redis for the session; tests that need a clean one flush it (`redis_url`)."""
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The throwaway Redis's URL, emptied for each test."""
    import redis

    if not redis_server.ping():  # a fault test stopped it
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresCluster) -> str:
    postgres.create_database("wizard_template")
    migrate_database(postgres.url("wizard_template"))
    return "wizard_template"


@contextmanager
def new_database(request, kind: str, directory: Path):
    """A migrated, empty database ("sqlite" in `directory`, or "postgresql"); yields its URI."""
    if kind == "sqlite":
        path = directory / "wizard.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    template = request.getfixturevalue("postgres_template")
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield cluster.create_database(name, template=template)
    cluster.drop_database(name)


@pytest.fixture
def database(request, tmp_path):
    """A migrated, empty database of its own for one test; yields its URI."""
    with new_database(request, getattr(request, "param", "sqlite"), tmp_path) as uri:
        yield uri


class IsolatedClient(FlaskClient):
    """Each request in an application context of its own, as in production.

    Without this, a test holding an application context (the `db` fixture) would share `g` and
    the database session with every request it makes, hiding stale reads and cached CSRF tokens.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def store(request) -> dict:
    """Settings that choose the shared store: {} (the database) unless the test asks for "redis"."""
    if getattr(request, "param", "database") == "redis":
        return {"REDIS_URL": request.getfixturevalue("redis_url")}
    return {}


@pytest.fixture
def app(database: str, smtp_server: SmtpSink, store: dict):
    app = create_app(settings_for_tests(database, smtp_server, **store))
    app.test_client_class = IsolatedClient
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(scope="session")
def market_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("market-template") / "marketplace.db"
    migrate_marketplace(f"sqlite:///{path}")
    return path


@pytest.fixture
def market(app, tmp_path, market_template):
    """The marketplace simulator, another application with its own database, facing `app`'s SPI."""
    path = tmp_path / "marketplace.db"
    shutil.copyfile(market_template, path)
    market = create_marketplace(marketplace_settings(f"sqlite:///{path}", app))
    market.test_client_class = IsolatedClient
    yield market
    with market.app_context():
        _market_db.engine.dispose()


@pytest.fixture
def market_client(market):
    return market.test_client()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def browser(client) -> Browser:
    """The customer's browser: `client` answering with pages read by an HTML parser (devtools/pages.py)."""
    return Browser.of(client)


def customer_of(app, mailbox, client=None) -> Customer:
    """A customer at `client` (default: a new browser) who arrives by 免登 as Alibaba Cloud sends it."""
    alibaba = Alibaba(app.config["ISV_KEY"], Browser.of(app.test_client()))
    return Customer(Browser.of(client or app.test_client()), mailbox, alibaba)


@pytest.fixture
def customer(app, client, smtp) -> Customer:
    """The customer at `client`/`browser`, reading codes from `smtp` (devtools/customer.py)."""
    return customer_of(app, smtp, client)


@pytest.fixture
def db(app):
    """The database handle inside an application context, for arranging and checking rows."""
    with app.app_context():
        yield _db
        _db.session.remove()


class FrozenClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def frozen_clock(monkeypatch) -> FrozenClock:
    """wizard.clock.now stands still until the test moves it."""
    frozen = FrozenClock()
    monkeypatch.setattr(clock, "now", frozen.now)
    return frozen


# ---- Metering: the market API served over HTTP, both parties' clocks held (tests/metering.py) ----


@pytest.fixture
def metering_clock(monkeypatch) -> MeteringClock:
    from alibabacloud_tea_openapi.utils import Utils

    moment = MeteringClock(START)
    monkeypatch.setattr(clock, "now", moment.now)
    monkeypatch.setattr(market_clock, "now", moment.now)
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(moment.sdk_timestamp))
    return moment


@pytest.fixture
def simulator(tmp_path, market_template):
    path = tmp_path / "marketplace.db"
    shutil.copyfile(market_template, path)
    market = create_marketplace(
        marketplace_settings(
            f"sqlite:///{path}", MARKET_ACCESS_KEY_ID=ACCESS_KEY_ID, MARKET_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET
        )
    )
    yield market
    with market.app_context():
        _market_db.engine.dispose()


@pytest.fixture
def live_market(simulator):
    live = LiveMarket(simulator)
    yield live
    live.down()


def guance_settings(database: str, smtp, endpoint: str, **extra) -> dict:
    market_api = {
        "MARKET_API_ENDPOINT": endpoint, "MARKET_API_PROTOCOL": "http", "MARKET_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "MARKET_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET, "MARKET_API_TIMEOUT": SDK_TIMEOUT,
    }  # fmt: skip
    return settings_for_tests(database, smtp, **(market_api | extra))


@pytest.fixture
def guance(database, smtp_server, live_market, metering_clock):
    app = create_app(guance_settings(database, smtp_server, live_market.endpoint))
    yield app
    with app.app_context():
        _db.engine.dispose()
