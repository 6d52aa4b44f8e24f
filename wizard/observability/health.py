"""GET /healthz (the process answers) and GET /readyz (what it needs answers too).

/readyz checks the database (SELECT 1), the task queue's storage (the SQLite file or Redis) and, when
REDIS_URL is set, Redis itself (sessions, limits); 200 when all answer, else 503 naming each part that
did not. It says which part, never why: the reason goes to the log (a load balancer needs no more,
and a stranger should learn no more).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db
from . import logs

bp = Blueprint("health", __name__)
log = logs.get_logger("wizard.health")


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _queue() -> None:
    from ..tasks import current_queue

    current_queue().huey.pending_count()


def _redis() -> None:
    current_app.extensions["redis"].ping()


def checks() -> dict:
    parts = {"database": _database, "queue": _queue}
    if current_app.config["REDIS_URL"]:
        parts["redis"] = _redis
    return parts


@bp.get("/readyz")
def readyz():
    results: dict[str, str] = {}
    for name, check in checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # whatever failed, the answer is the part's name
            log.warning("readiness check failed", part=name, error=f"{type(error).__name__}: {error}")
            results[name] = "unavailable"
    failing = sorted(name for name, result in results.items() if result != "ok")
    body: dict[str, object] = {"status": "unavailable" if failing else "ready", "checks": results}
    if failing:
        body["failing"] = failing
    return jsonify(body), 503 if failing else 200
