"""Who is signed in to the simulator: an Aliyun account ID in the simulator's own signed cookie.

There is no implicit buyer: without the cookie the simulator asks who you are (the sign-in
picker), as Alibaba Cloud asks for a login.
"""

from __future__ import annotations

import re

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response  # flask.Response's base, what redirect() returns

from .extensions import db, savepoint
from .models import Buyer

ALI_UID = re.compile(r"[1-9][0-9]{0,31}")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="market.buyer")


def current_buyer() -> Buyer | None:
    """The buyer this browser signed in as, or None."""
    try:
        ali_uid = _serializer().loads(request.cookies.get(current_app.config["BUYER_COOKIE"], ""))
    except BadSignature:
        return None
    return db.session.scalar(select(Buyer).filter_by(ali_uid=ali_uid)) if isinstance(ali_uid, str) else None


def known_buyers() -> list[Buyer]:
    """The demo buyers first (they have names), for the sign-in picker."""
    return list(db.session.scalars(select(Buyer).where(Buyer.display_name != "").order_by(Buyer.id)))


def buyer_for(ali_uid: str) -> Buyer:
    """The buyer with this Aliyun account ID, created on first use (for QA and scripts)."""
    buyer = db.session.scalar(select(Buyer).filter_by(ali_uid=ali_uid))
    if buyer is not None:
        return buyer
    try:
        with savepoint():
            db.session.add(Buyer(ali_uid=ali_uid, display_name=""))
    except IntegrityError:  # the same new account signed in twice at once
        pass
    return db.session.scalars(select(Buyer).filter_by(ali_uid=ali_uid)).one()


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """Every cookie the simulator sets besides Flask's session (SESSION_COOKIE_*): out of scripts'
    reach, not sent by other sites' forms, over HTTPS only wherever the session cookie is."""
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"]
    )


def sign_in(response: Response, buyer: Buyer) -> Response:
    set_cookie(response, current_app.config["BUYER_COOKIE"], _serializer().dumps(buyer.ali_uid))
    return response


def sign_out(response: Response) -> Response:
    response.delete_cookie(current_app.config["BUYER_COOKIE"])
    return response
