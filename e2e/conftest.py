"""Chromium (Debian's) against live servers: the Guance side and the marketplace simulator, each on its own
port with its own database and demo data, and an SMTP sink."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from devtools.ports import free_port
from devtools.smtp import SmtpSink
from marketplace import create_app as create_marketplace
from tests.conftest import marketplace_settings, migrate_database, migrate_marketplace, settings_for_tests, unavailable
from wizard import create_app

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without these, Chromium keeps calling Google's services, which this sandbox refuses.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    for candidate in ([configured] if configured else []) + list(CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = find_chromium()
    if executable is None:
        unavailable("REQUIRE_BROWSER", "Chromium not found (apt-get install chromium fonts-noto-cjk)")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture(scope="session")
def live_smtp(tmp_path_factory):
    sink = SmtpSink.start(tmp_path_factory.mktemp("e2e-mail"))
    yield sink
    sink.stop()


def serve(app, port: int):
    """`app` on 127.0.0.1:`port` from a thread; returns the server (shutdown() stops it)."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class LiveServer:
    """Both parties as `make run` serves them, each on a free loopback port with its own migrated, seeded
    database: the Guance side at `url`, the marketplace simulator at `market_url`. Development cookies
    (not Secure): they speak plain HTTP on 127.0.0.1."""

    def __init__(self, directory: Path, smtp: SmtpSink, **settings) -> None:
        self.port, self.market_port = free_port(), free_port()
        self.url, self.market_url = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.market_port}"
        database = f"sqlite:///{directory / 'wizard.db'}"
        migrate_database(database)
        self.app = create_app(
            settings_for_tests(
                database, smtp, SESSION_COOKIE_SECURE=False, PUBLIC_BASE_URL=self.url,
                MARKETPLACE_URL=f"{self.market_url}/", MARKETPLACE_CONSOLE_URL=f"{self.market_url}/instances",
                MARKET_API_ENDPOINT=f"127.0.0.1:{self.market_port}", MARKET_API_PROTOCOL="http", **settings,
            )
        )  # fmt: skip
        self.app.test_cli_runner().invoke(args=["demo", "seed"])
        market_database = f"sqlite:///{directory / 'marketplace.db'}"
        migrate_marketplace(market_database)
        self.market = create_marketplace(
            marketplace_settings(market_database, SPI_URL=f"{self.url}/spi", SESSION_COOKIE_SECURE=False)
        )
        self.market.test_cli_runner().invoke(args=["demo", "seed"])
        self._servers = [serve(self.app, self.port), serve(self.market, self.market_port)]

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()


@pytest.fixture(scope="session")
def live(tmp_path_factory, live_smtp):
    server = LiveServer(tmp_path_factory.mktemp("e2e-db"), live_smtp)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_app(live):
    return live.app


@pytest.fixture(scope="session")
def live_server(live):
    return live.url


@pytest.fixture(scope="session")
def market_url(live):
    """The marketplace simulator's address (another origin than the Guance side's base_url)."""
    return live.market_url


@pytest.fixture
def billing_account(live_app):
    """A billing-center account of its own for a test (codes have a per-account cooldown), from the
    factories the unit tests arrange with (devtools/factories.py): its workspaces' owner is
    <username>_owner, password devtools.factories.PASSWORD."""
    from devtools.factories import billing_account_with_workspaces

    def make(username: str, workspaces=()) -> str:
        with live_app.app_context():
            billing_account_with_workspaces(username, f"{username}@e2e.example", workspaces, owner=f"{username}_owner")
        return f"{username}@e2e.example"

    return make


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server


@pytest.fixture
def shoot(page):
    """Save a screenshot under its documented name: shoot("10.aliyun_market_1", language="zh")."""

    def save(name: str, language: str = "zh", target=None) -> Path:
        page.wait_for_load_state("networkidle")
        path = SCREENSHOTS / language / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        options = {"full_page": True} if target is None else {}
        (target or page).screenshot(path=str(path), animations="disabled", **options)
        return path

    return save
