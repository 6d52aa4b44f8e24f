"""Every operator action on record: who, what, when, on what (table operator_audit).

An action is written in the caller's transaction when it changes something (so a rolled-back action
leaves no record claiming it happened) and on its own connection when it only reads or when nobody
is signed in yet (a refused login must be on record whatever the request does next). `details`
holds the action's parameters; never a password, code or secret (callers pass none, and the log's
redaction rules keep any that slipped in out of the table too).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert

from ... import clock
from ...extensions import db
from ...observability import logs
from ...observability.logs import redact
from ...ops_models import OperatorAudit

log = logs.get_logger("wizard.ops.audit")


@dataclass(frozen=True)
class Actor:
    """Who acts: the signed-in operator (id and username), or a username typed at sign-in (id None)."""

    operator_id: int | None
    username: str
    remote_addr: str | None = None
    request_id: str | None = None


def _values(actor: Actor, action: str, target: tuple[str, str | int] | None, details: dict) -> dict:
    target_type, target_id = target or (None, None)
    return {
        "operator_id": actor.operator_id,
        "username": actor.username[:64],
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id)[:64] if target_id is not None else None,
        "details": redact(None, None, details),
        "remote_addr": actor.remote_addr,
        "request_id": actor.request_id,
        "created_at": clock.now(),
    }


def record(actor: Actor, action: str, target: tuple[str, str | int] | None = None, **details) -> None:
    """In the caller's transaction: committed with what the action changed, or not at all."""
    db.session.execute(insert(OperatorAudit).values(**_values(actor, action, target, details)))
    log.info("operator action", action=action, operator=actor.username, target=target and ":".join(map(str, target)))


def record_now(actor: Actor, action: str, target: tuple[str, str | int] | None = None, **details) -> None:
    """On a connection of its own, committed at once (sign-ins, refusals, what an operator looked at)."""
    with db.engine.begin() as connection:
        connection.execute(insert(OperatorAudit).values(**_values(actor, action, target, details)))
    log.info("operator action", action=action, operator=actor.username, target=target and ":".join(map(str, target)))
