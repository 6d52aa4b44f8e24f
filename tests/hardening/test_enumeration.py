"""5. Web security: 获取验证码 tells nothing about whether an account exists, not even by the work it does.

Issue 16 measured existing addresses answered in 21 ms and unknown ones in 11 ms (the SMTP exchange
ran inside the request). Now, with a real queue (not run inline, no worker), POST /codes/send for an
existing and for an unknown address or username runs the same SQL statements, queues one task, and
opens no SMTP connection: the mail, or for nobody a visit to the SMTP server, is the worker's. The
times themselves are measured in the benchmark (`make bench`: bench/codes_timing.py, reported in
bench/results/latest.md), never asserted here.
"""

from __future__ import annotations

import smtplib
from contextlib import contextmanager
from itertools import count

import pytest
from sqlalchemy import event

from devtools.factories import QUICK_HASH
from wizard.extensions import db as _db
from wizard.models import BillingAccount, GuanceAccount
from wizard.services.codes import PURPOSES

from ..conftest import BOTH_DATABASES
from ..queue_support import queue_of
from .conftest import UNLIMITED, build_app, dispose
from .states import Flow
from .tally import TALLY

pytestmark = pytest.mark.hardening
CATEGORY = "web"
_serial = count(1)
# Registering (R1, B2c) proves the address typed: its code goes there, an account's or not.
TO_THE_ADDRESS_TYPED = {"register", "register_workspace"}


@pytest.fixture
def queued_app(database, sink, tmp_path):
    """As in production: codes go to a queue on disk, which no worker reads while the requests run."""
    app = build_app(database, sink, QUEUE_IMMEDIATE=False, QUEUE_SQLITE_PATH=str(tmp_path / "queue.db"), **UNLIMITED)
    yield app
    dispose(app)


def accounts_for(app, purpose: str) -> tuple[str, str, str]:
    """(an identifier of an account that exists, one of nobody, the existing account's address)."""
    n = next(_serial)
    known_email = f"known{n}@acme.example"
    with app.app_context():
        if PURPOSES[purpose].identifier == "username":
            _db.session.add(BillingAccount(username=f"known{n}_billing", email=known_email, password_hash=QUICK_HASH))
            identifiers = (f"known{n}_billing", f"nobody{n}_billing")
        else:  # R1 and B2c ask for any address, B2b for a Guance account's: an account's address either way
            account = GuanceAccount(site="cn1", username=f"known{n}", email=known_email, password_hash=QUICK_HASH)
            _db.session.add(account)
            identifiers = (known_email, f"nobody{n}@acme.example")
        _db.session.commit()
    return (*identifiers, known_email)


@contextmanager
def recording(app, monkeypatch):
    """Every SQL statement the application's engine runs, and every SMTP connection opened meanwhile."""
    statements: list[str] = []
    connections: list[tuple] = []
    with app.app_context():
        engine = _db.engine

    def on_execute(_connection, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    real_connect = smtplib.SMTP.connect

    def connect(self, *args, **kwargs):
        connections.append(args)
        return real_connect(self, *args, **kwargs)

    event.listen(engine, "before_cursor_execute", on_execute)
    monkeypatch.setattr(smtplib.SMTP, "connect", connect)
    try:
        yield statements, connections
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def pending_tasks(app) -> list[str]:
    return [task.name for task in queue_of(app).huey.pending()]


def ask_for_code(app, monkeypatch, purpose: str, identifier: str):
    """A new customer (its own Aliyun account, at G1) presses 获取验证码 as app.js sends it."""
    customer = Flow(app, None).unbound()
    before = pending_tasks(app)
    with recording(app, monkeypatch) as (statements, connections):
        answer = customer.client.post(
            "/codes/send",
            data={"purpose": purpose, "identifier": identifier},
            headers={"X-CSRFToken": customer.token, "Accept": "application/json"},
        )
    queued = pending_tasks(app)[len(before) :]
    return (answer.status_code, answer.get_json()), statements, queued, connections


def run_the_queue(app) -> int:
    """What the worker would do next: run every waiting task; how many ran."""
    huey, ran = queue_of(app).huey, 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


@BOTH_DATABASES
@pytest.mark.parametrize("purpose", list(PURPOSES))
def test_a_code_for_nobody_costs_the_request_exactly_what_a_code_for_an_account_costs(
    queued_app, sink, monkeypatch, purpose
):
    with TALLY.case(CATEGORY):
        known, unknown, address = accounts_for(queued_app, purpose)
        sink.clear()
        answer, statements, queued, connections = ask_for_code(queued_app, monkeypatch, purpose, known)
        answer_, statements_, queued_, connections_ = ask_for_code(queued_app, monkeypatch, purpose, unknown)

        assert answer == answer_ and answer[0] == 200 and answer[1]["ok"] is True
        assert statements == statements_, "the request's SQL differs between an account and nobody"
        assert any(s.lstrip().lower().startswith("insert into verification_code") for s in statements)
        assert queued == queued_ == ["deliver_code"]
        assert connections == connections_ == [], "the request itself talked to the SMTP server"

        # The same recorder sees the worker's SMTP sessions: one each, and only the mail differs.
        with recording(queued_app, monkeypatch) as (_statements, worker_connections):
            assert run_the_queue(queued_app) == 2
        assert len(worker_connections) == 2
        mailed = {address, unknown} if purpose in TO_THE_ADDRESS_TYPED else {address}
        assert sorted(message.to.lower() for message in sink.messages()) == sorted(mailed)
