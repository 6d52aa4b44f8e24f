"""Chromium (Debian's) against a live server with its own database, demo data and SMTP sink."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from devtools.ports import free_port
from devtools.smtp import SmtpSink
from tests.conftest import migrate_database, settings_for_tests, unavailable
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


class LiveServer:
    """The product served on a free loopback port from a thread, with its own migrated, seeded database."""

    def __init__(self, directory: Path, smtp: SmtpSink, **settings) -> None:
        database = f"sqlite:///{directory / 'wizard.db'}"
        migrate_database(database)
        # Development cookies (not Secure): the live server speaks plain HTTP on 127.0.0.1.
        self.app = create_app(settings_for_tests(database, smtp, SESSION_COOKIE_SECURE=False, **settings))
        self.app.test_cli_runner().invoke(args=["demo", "seed"])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app.config["SPI_URL"] = f"{self.url}/spi"
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


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


@pytest.fixture
def billing_account(live_app):
    """A billing-center account of its own for a test (codes have a per-account cooldown)."""
    from tests.activation import add_billing_account

    def make(username: str, workspaces=()) -> str:
        with live_app.app_context():
            add_billing_account(
                username, f"{username}@e2e.example", workspaces=workspaces, owner_username=f"{username}_owner"
            )
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
