"""立即解锁: a signed, single-use, time-limited link to a workspace's unlock choices (X3).

The lock page hands it out; whoever opens it gets the choices without another login, once, within
UNLOCK_LINK_TTL_SECONDS. The link carries the workspace and a random id, signed (itsdangerous) with
SECRET_KEY; its id is recorded when opened (used_link), so the same link again is refused.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db, savepoint
from ..i18n import lazy_gettext as _l
from ..models import UsedLink
from .refusals import Refused

SALT = "guance.unlock-link"
PURPOSE = "unlock"

REFUSALS = {
    "invalid": _l("解锁链接无效。"),
    "expired": _l("解锁链接已过期。"),
    "used": _l("解锁链接已经使用过，每个链接只能使用一次。"),
}


class LinkRefused(Refused):
    def __init__(self, reason: str) -> None:
        super().__init__(REFUSALS[reason])
        self.reason = reason


class _ClockSigner(TimestampSigner):
    """Signs and checks ages on wizard.clock, so tests can move time."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT, signer=_ClockSigner)


def ttl() -> timedelta:
    return timedelta(seconds=current_app.config["UNLOCK_LINK_TTL_SECONDS"])


def issue(workspace_id: int) -> str:
    return _serializer().dumps({"workspace": workspace_id, "id": secrets.token_urlsafe(16)})


def redeem(token: str) -> int:
    """The workspace the link is for, the first time it is opened; LinkRefused otherwise."""
    try:
        payload, signed_at = _serializer().loads(token, max_age=int(ttl().total_seconds()), return_timestamp=True)
    except SignatureExpired:
        raise LinkRefused("expired") from None
    except BadSignature:
        raise LinkRefused("invalid") from None
    workspace_id, link_id = payload.get("workspace"), payload.get("id")
    if not isinstance(workspace_id, int) or not isinstance(link_id, str):
        raise LinkRefused("invalid")  # signed by us, so never; but never trust a shape either
    _use_once(link_id, signed_at + ttl() + timedelta(seconds=1))
    return workspace_id


def _use_once(link_id: str, keep_until) -> None:
    try:
        with savepoint():  # a savepoint: the unique token id decides, the caller's unit goes on
            db.session.add(UsedLink(token_id=link_id, purpose=PURPOSE, expires_at=keep_until))
    except IntegrityError:
        raise LinkRefused("used") from None
