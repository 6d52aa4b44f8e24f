"""Who is signed in to the simulator: an Aliyun account ID in the simulator's own signed cookie.

The marketplace and Guance are different sites in reality, so the simulator does not use the
Guance side's session: the login-free entry starts a fresh Guance session without signing the
buyer out of the marketplace.
"""

from __future__ import annotations

import re

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from ...extensions import db
from .models import MarketUser

COOKIE = "aliyun_market_buyer"
ALI_UID = re.compile(r"[0-9]{1,32}")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="market.buyer")


def current_buyer() -> MarketUser | None:
    """The signed-in buyer, or the first demo buyer when nobody signed in yet."""
    try:
        ali_uid = _serializer().loads(request.cookies.get(COOKIE, ""))
    except BadSignature:
        ali_uid = None
    buyer = db.session.scalar(select(MarketUser).filter_by(ali_uid=ali_uid)) if ali_uid else None
    return buyer or db.session.scalar(select(MarketUser).order_by(MarketUser.id).limit(1))


def all_buyers() -> list[MarketUser]:
    return list(db.session.scalars(select(MarketUser).order_by(MarketUser.id)))


def buyer_for(ali_uid: str) -> MarketUser:
    """The buyer with this Aliyun account ID, created on first use (for QA and scripts)."""
    buyer = db.session.scalar(select(MarketUser).filter_by(ali_uid=ali_uid))
    if buyer is None:
        buyer = MarketUser(ali_uid=ali_uid, display_name="")
        db.session.add(buyer)
        db.session.commit()
    return buyer


def sign_in(response: Response, buyer: MarketUser) -> Response:
    response.set_cookie(
        COOKIE,
        _serializer().dumps(buyer.ali_uid),
        httponly=True,
        samesite="Lax",
        path="/market",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
