"""One rule for transactions (README, Architecture): services never commit or roll back; the entry point
owns the unit of work. A view, a task or periodic job, a command runs in one `one_transaction()`; a
service that must keep part of its work says why with `commit_now(reason)`.

Read from the source (AST), so a new `db.session.commit()` in a service fails here, not in production.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import BOTH_DATABASES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("wizard", "marketplace")

# Where a unit of work may begin and end, and why there.
UNIT_OWNERS = {
    "wizard/extensions.py": "one_transaction() and commit_now(), the rule's two helpers",
    "marketplace/extensions.py": "the simulator's one_transaction() and commit_now()",
    "wizard/tasks.py": "the task queue's entry point: a job (and its failure record) is one unit",
    "marketplace/tasks.py": "the simulator's periodic job is one unit",
    "wizard/sessions.py": "the session store writes its own row after the view's unit has ended",
    "wizard/errors.py": "the error page of a request whose unit failed: nothing of it may stay",
    "marketplace/errors.py": "the same, on the simulator",
    "wizard/observability/health.py": "the readiness probe's SELECT 1 leaves no transaction open",
}

ENDS_A_TRANSACTION = {"commit", "rollback"}
BEGINS_A_UNIT = {"one_transaction"}


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, _called_name(node)


def test_only_entry_points_commit_or_roll_back():
    offenders = [
        f"{path}:{call.lineno} {name}()"
        for path, tree in _sources()
        if path not in UNIT_OWNERS
        for call, name in _calls(tree)
        if name in ENDS_A_TRANSACTION and isinstance(call.func, ast.Attribute) and not call.args
    ]
    assert offenders == [], "commit or roll back only at the entry point (or with commit_now(reason)): " + ", ".join(
        offenders
    )


def test_services_join_the_callers_unit_instead_of_opening_one():
    """one_transaction() belongs to entry points; views and services already run in one."""
    offenders = [
        f"{path}:{call.lineno}"
        for path, tree in _sources()
        if path not in UNIT_OWNERS
        for call, name in _calls(tree)
        if name in BEGINS_A_UNIT
    ]
    assert offenders == []


def test_every_early_commit_says_why():
    calls = [(path, call) for path, tree in _sources() for call, name in _calls(tree) if name == "commit_now"]
    assert calls, "the rule's exceptions are found by this name"
    vague = [
        f"{path}:{call.lineno}"
        for path, call in calls
        if not (
            len(call.args) == 1
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
            and len(call.args[0].value.split()) >= 4
        )
    ]
    assert vague == [], "commit_now needs its reason as a literal sentence"


@pytest.fixture
def unit_app(app):
    """The Guance application with two throwaway views, added after create_app like any later view."""
    from wizard.extensions import db
    from wizard.models import FailedTask

    def write(then_fail: bool):
        db.session.add(FailedTask(name="probe", args=[], error="x", status="failed", attempts=1))
        db.session.flush()
        if then_fail:
            raise RuntimeError("after the write")
        return "written"

    app.add_url_rule("/_unit_ok", "unit_ok", lambda: write(False))
    app.add_url_rule("/_unit_fails", "unit_fails", lambda: write(True))
    return app


def test_a_view_is_one_unit_of_work(unit_app, db):
    from sqlalchemy import func, select

    from wizard.models import FailedTask

    client = unit_app.test_client()
    assert client.get("/_unit_ok").status_code == 200
    with pytest.raises(RuntimeError):  # the testing profile lets a view's exception through
        client.get("/_unit_fails")
    names = db.session.scalar(select(func.count()).select_from(FailedTask).where(FailedTask.name == "probe"))
    assert names == 1  # the view that returned kept its row, the one that raised left nothing


@BOTH_DATABASES
def test_a_savepoint_undoes_only_its_own_work_and_its_own_tasks(app, db, monkeypatch):
    """Inside one unit: a refused block's rows and queued tasks go, the rest of the unit stays; a released
    savepoint commits nothing by itself (pysqlite would, without savepoint()'s BEGIN IMMEDIATE)."""
    from sqlalchemy import create_engine, func, select, text

    from wizard import tasks
    from wizard.extensions import one_transaction, savepoint
    from wizard.models import FailedTask

    queued: list[tuple] = []
    monkeypatch.setattr(tasks, "enqueue", lambda name, *args: queued.append((name, *args)))

    def row(name: str) -> FailedTask:
        return FailedTask(name=name, args=[], error="x", status="failed", attempts=1)

    def names_seen_from_outside() -> set[str]:
        outside = create_engine(db.engine.url.render_as_string(hide_password=False))
        with outside.connect() as connection:
            found = set(connection.scalars(text("SELECT name FROM failed_task")))
        outside.dispose()
        return found

    with one_transaction():
        with savepoint():
            db.session.add(row("kept"))
            tasks.enqueue_on_commit("deliver_notice", 1)
        assert names_seen_from_outside() == set()  # released, not committed
        with pytest.raises(RuntimeError), savepoint():
            db.session.add(row("undone"))
            tasks.enqueue_on_commit("deliver_notice", 2)
            db.session.flush()
            raise RuntimeError("refused")
        assert queued == []  # nothing is queued before the unit commits
    assert names_seen_from_outside() == {"kept"}
    assert queued == [("deliver_notice", 1)]
    assert db.session.scalar(select(func.count()).select_from(FailedTask)) == 1


def test_a_job_item_by_item_keeps_the_items_done_before_one_fails(app, db):
    """tasks.one_unit_per_item (the lifecycle's locks, each instance's metering turn): an item that fails
    takes back its own work, not the work of the items before it."""
    from sqlalchemy import select

    from wizard import tasks
    from wizard.models import FailedTask

    def work(name: str) -> int:
        db.session.add(FailedTask(name=name, args=[], error="x", status="failed", attempts=1))
        db.session.flush()
        if name == "poison":
            raise RuntimeError("this item fails")
        return 1

    with pytest.raises(RuntimeError):
        tasks.one_unit_per_item(["first", "second", "poison", "never"], work)
    db.session.expire_all()
    assert set(db.session.scalars(select(FailedTask.name))) == {"first", "second"}
