"""What every hardening test checks: rows, consistency, clean answers; and how hostile requests are built."""

from __future__ import annotations

import os
import re
from urllib.parse import quote_from_bytes, urljoin, urlsplit

from hypothesis import HealthCheck, settings
from sqlalchemy import text

from devtools.pages import Page
from marketplace.extensions import db as _market_db
from wizard.extensions import db as _db
from wizard.security import SECURITY_HEADERS

CI = os.environ.get("CI") == "1"


def fuzz_settings(max_examples: int) -> settings:
    """Explicit and bounded; in CI derandomized (the same examples every run) and without an example store."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=CI,
        database=None if CI else settings.default.database,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# ---- The database: row counts, and rules that hold whatever happened ----


# Written by every request by design, refused ones included: the session, the per-IP counters and
# the per-account login attempts. What no refused request may change is every other table.
BOOKKEEPING = {"web_session", "rate_limit_counter", "login_attempt"}


def table_names(app) -> list[str]:
    with app.app_context():
        return [table.name for table in _db.metadata.sorted_tables if table.name not in BOOKKEEPING]


def row_counts(app) -> dict[str, int]:
    """Rows of every table, in one round trip on a connection of its own (what is committed)."""
    names = table_names(app)
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {name})" for name in names)
    with app.app_context(), _db.engine.connect() as connection:
        return dict(zip(names, connection.execute(text(query)).one(), strict=True))


def changed_tables(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


# Each query counts rows that break a rule no request may break, whatever it sent.
INVARIANTS = {
    "a verification code whose delivery state and delivery time disagree": (
        "SELECT count(*) FROM verification_code WHERE (delivery = 'sent' AND delivered_at IS NULL) "
        "OR (delivery != 'sent' AND delivered_at IS NOT NULL)"
    ),
    "a workspace whose owner is not its member": (
        "SELECT count(*) FROM workspace w WHERE NOT EXISTS (SELECT 1 FROM workspace_member m "
        "WHERE m.workspace_id = w.id AND m.account_id = w.owner_account_id)"
    ),
    "a completed registration without its workspace": (
        "SELECT count(*) FROM marketplace_registration WHERE completed_at IS NOT NULL AND workspace_id IS NULL"
    ),
    "an instance bound to a workspace its Aliyun account does not settle through": (
        "SELECT count(*) FROM marketplace_instance i JOIN workspace w ON w.id = i.workspace_id "
        "LEFT JOIN cloud_account_binding b ON b.ali_uid = i.ali_uid "
        "WHERE b.billing_account_id IS NULL OR w.billing_account_id IS NULL "
        "OR b.billing_account_id != w.billing_account_id"
    ),
    "a workspace settled through two live instances": (
        "SELECT count(*) FROM (SELECT workspace_id FROM marketplace_instance WHERE workspace_id IS NOT NULL "
        "AND status != 'released' GROUP BY workspace_id HAVING count(*) > 1) AS doubled"
    ),
}


def inconsistencies(app) -> list[str]:
    query = "SELECT " + ", ".join(f"({sql})" for sql in INVARIANTS.values())
    with app.app_context(), _db.engine.connect() as connection:
        found = connection.execute(text(query)).one()
    return [f"{rule}: {count}" for rule, count in zip(INVARIANTS, found, strict=True) if count]


def unknown_opened_instances(app, market) -> list[str]:
    """Orders the simulator shows as opened whose instance the Guance side does not know (two databases)."""
    with market.app_context(), _market_db.engine.connect() as connection:
        opened = connection.execute(text("SELECT instance_id FROM market_order WHERE instance_id IS NOT NULL"))
        claimed = {row.instance_id for row in opened}
    with app.app_context(), _db.engine.connect() as connection:
        known = {row.instance_id for row in connection.execute(text("SELECT instance_id FROM marketplace_instance"))}
    return sorted(claimed - known)


def assert_consistent(app, market=None) -> None:
    problems = inconsistencies(app)
    if market is not None:
        unknown = unknown_opened_instances(app, market)
        if unknown:
            problems.append(f"an order shown as opened whose instance the Guance side does not know: {unknown}")
    assert not problems, problems


# ---- Answers ----

# What only the internals say: a stack trace, a source path, a driver's or an ORM's exception.
LEAKS = (
    "Traceback (most recent call last)", 'File "/', "sqlalchemy.", "psycopg.", "werkzeug.exceptions",
    "Werkzeug Debugger", "DataError", "OperationalError", "IntegrityError",
)  # fmt: skip


def assert_clean(response, *, allowed_statuses=None) -> str:
    """Never a 500 (a 503 only where allowed) and never a stack trace; returns the body as text.
    `response`: the test client's, or a Page."""
    page = Page.of(response)
    if allowed_statuses is None:
        assert page.status < 500, (page.status, page.text[:400])
    else:
        assert page.status in allowed_statuses, (page.status, page.text[:400])
    leaks = [leak for leak in LEAKS if leak in page.text]
    assert not leaks, f"the answer shows internals: {leaks[0]!r}"
    return page.text


def assert_security_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))


def assert_styled_error(response, status: int, title: str) -> str:
    """The product's own error page: `title` in its heading, the stylesheet, the security headers."""
    page = Page.of(response)
    body = assert_clean(page, allowed_statuses={status})
    assert page.text_of("h1#error-title") == title, (status, body[:400])
    assert "/static/css/app.css" in page.links("link[rel=stylesheet]"), body[:400]
    assert_security_headers(response)
    return body


# ---- Requests built by hand, so any character (even an unpaired surrogate) can be sent ----


def encode(text: str) -> bytes:
    """UTF-8, with unpaired surrogates kept as their (invalid) three bytes: what a hostile client can send."""
    return text.encode("utf-8", "surrogatepass")


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    return b"&".join(
        quote_from_bytes(encode(name), safe="").encode() + b"=" + quote_from_bytes(encode(value), safe="").encode()
        for name, value in pairs
    )


def query_string(pairs: list[tuple[str, str]]) -> str:
    return form_body(pairs).decode("ascii")


FORM = "application/x-www-form-urlencoded"


# ---- Clients ----


def snapshot_cookies(client) -> dict:
    return dict(client._cookies)


def restore_cookies(client, snapshot: dict) -> None:
    client._cookies = dict(snapshot)


def session_of(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


# ---- Where a browser would go ----


def browser_destination(location: str, page: str = "http://localhost/bind/billing") -> tuple[str, str]:
    """(scheme, host) a browser resolves a Location header to, WHATWG-style: leading and trailing
    C0 controls and spaces stripped, tabs and newlines removed, backslashes read as slashes."""
    cleaned = location.strip("".join(chr(c) for c in range(0x21)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    target = urlsplit(urljoin(page, cleaned))
    return target.scheme, target.netloc


def stays_on_site(location: str) -> bool:
    """On this site whether the page was served over HTTP or HTTPS (where "http:x" is another host)."""
    return all(
        browser_destination(location, f"{scheme}://localhost/bind/billing") == (scheme, "localhost")
        for scheme in ("http", "https")
    )
