"""The hardening suite (`pytest -m hardening`): applications set up as in production, and the figures.

Every test module here sets `pytestmark = pytest.mark.hardening` and `CATEGORY` (see tally.py);
the summary of cases and failures per category is printed at the end of the run.
"""

from __future__ import annotations

import pytest

from devtools.smtp import SmtpSink
from marketplace import create_app as create_marketplace
from marketplace.extensions import db as _market_db
from wizard import create_app
from wizard.extensions import db as _db

from ..conftest import IsolatedClient, marketplace_settings, migrate_marketplace, new_database, settings_for_tests
from .tally import TALLY

# Generous per-IP limits, so fuzzing reaches the forms instead of the limiter (tested on their own).
UNLIMITED = {"CODE_SENDS_PER_IP_PER_HOUR": 1_000_000, "LOGIN_ATTEMPTS_PER_MINUTE": 1_000_000}


def build_app(database_uri: str, sink: SmtpSink, **settings):
    """An application answering as in production: an exception becomes the 500 page, not a raise."""
    app = create_app(settings_for_tests(database_uri, sink, PROPAGATE_EXCEPTIONS=False, **settings))
    app.test_client_class = IsolatedClient
    return app


def build_market(guance_app, directory, **settings):
    """The marketplace simulator (its own SQLite database in `directory`) facing `guance_app`'s SPI,
    answering as in production."""
    uri = f"sqlite:///{directory / 'marketplace.db'}"
    migrate_marketplace(uri)
    market = create_marketplace(marketplace_settings(uri, guance_app, PROPAGATE_EXCEPTIONS=False, **settings))
    market.test_client_class = IsolatedClient
    return market


def dispose(app) -> None:
    database = _market_db if app.name == "marketplace" else _db
    with app.app_context():
        database.session.remove()
        database.engine.dispose()


@pytest.fixture(scope="module")
def sink(smtp_server: SmtpSink) -> SmtpSink:
    """The session's SMTP server, emptied as a module starts (codes are then read by address)."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture(scope="module")
def module_database(request, tmp_path_factory):
    """A migrated database shared by one module's tests (they compare rows before and after each case)."""
    kind = getattr(request, "param", "sqlite")
    with new_database(request, kind, tmp_path_factory.mktemp("hardening-db")) as uri:
        yield uri


# ---- Figures ----


def _category(item) -> str | None:
    return getattr(item.module, "CATEGORY", None) if item.get_closest_marker("hardening") else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.hardening_failures_before = TALLY.failures()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    category = _category(item)
    if category and report.failed and not getattr(item, "hardening_failure_counted", False):
        item.hardening_failure_counted = True
        if TALLY.failures() == getattr(item, "hardening_failures_before", TALLY.failures()):
            TALLY.add(category, 0, 1)  # failed outside any counted case: still a failure of its category


def pytest_terminal_summary(terminalreporter):
    lines = TALLY.lines()
    if lines:
        terminalreporter.write_sep("=", "hardening summary (cases executed, failures)")
        for line in lines:
            terminalreporter.write_line(line)
