"""Operators: accounts of their own (role `operator`), a password and a TOTP second factor.

- Created by `flask ops create-operator` (the password follows the product's rules,
  services/passwords.py). The TOTP secret is generated then and stored encrypted (secrets.py).
- Sign-in: the password first, throttled per username like customer logins (login_throttle, in a
  namespace of its own: an operator's and a customer's username never share a count), then a TOTP code
  (RFC 6238, 30-second steps, one step of clock drift either way). A code is accepted once: the step of
  the last accepted code is kept, and a code of that step or an earlier one is refused. Wrong codes
  are throttled the same way as wrong passwords.
- Enrolment: until an operator has shown a first code, the second step shows the secret as a QR code
  (an otpauth:// URI, drawn as SVG on the server by segno) and as text, and the first right code
  confirms it. `flask ops reset-totp` starts enrolment again with a new secret.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pyotp
import segno
from flask import current_app
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ... import clock
from ...extensions import commit_now, db, execute_dml
from ...i18n import lazy_gettext as _l
from ...ops_models import Operator
from .. import login_throttle, passwords
from . import secrets

USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
THROTTLE_SITE = "ops"  # operators' usernames are counted apart from customers' (login_throttle's site)
TOTP_THROTTLE_SITE = "ops-totp"
STEP_SECONDS = 30
# Checked when the username is unknown, so a miss costs as much time as a wrong password.
_UNKNOWN_HASH = generate_password_hash("an operator that does not exist")

# The demo operator `flask demo seed` creates outside production: QA signs in with these (README).
DEMO_USERNAME = "demo_ops"
DEMO_PASSWORD = "Guance-Ops-Demo-2026"
DEMO_TOTP_SECRET = "GUANCEOPSDEMOQAONLYSECRETKEY2345"  # base32; `flask ops totp demo_ops` prints its code

WRONG_CODE = _l("验证码不正确或已使用，请输入认证器中最新的 6 位验证码")


class OperatorRefused(Exception):
    """A new operator's username or password is not acceptable; `message` says why."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class NewOperator:
    operator: Operator
    totp_secret: str  # shown to whoever created it, once


def normalize(username: str) -> str:
    return (username or "").strip().lower()


def find(username: str) -> Operator | None:
    return db.session.scalar(select(Operator).filter_by(username=normalize(username)))


def create(username: str, password: str, totp_secret: str | None = None) -> NewOperator:
    """A new operator, not yet enrolled; raises OperatorRefused."""
    username = normalize(username)
    if not USERNAME.fullmatch(username):
        raise OperatorRefused(_l("用户名须为 3-64 位小写字母、数字或 _ . -，以字母或数字开头"))
    if find(username) is not None:
        raise OperatorRefused(_l("该运维账号已存在"))
    strength = passwords.judge(password, username)
    if not strength.acceptable:
        raise OperatorRefused(strength.problem)
    secret = totp_secret or pyotp.random_base32()
    operator = Operator(
        username=username, password_hash=generate_password_hash(password), totp_secret=secrets.seal(secret)
    )
    db.session.add(operator)
    return NewOperator(operator, secret)


def reset_totp(operator: Operator, totp_secret: str | None = None) -> str:
    """A new secret, enrolment again (lost phone, changed key); returns the secret."""
    secret = totp_secret or pyotp.random_base32()
    operator.totp_secret, operator.totp_confirmed_at, operator.totp_last_step = secrets.seal(secret), None, None
    return secret


def check_password(username: str, password: str) -> Operator | None:
    """The operator when the pair is right (and the account enabled); None otherwise, in about the same
    time. Raises LoginThrottled (no password checked) per username, known or not."""
    with login_throttle.attempt(THROTTLE_SITE, username) as attempt:
        operator = find(username)
        if operator is None:
            check_password_hash(_UNKNOWN_HASH, password or "")
        elif not check_password_hash(operator.password_hash, password or "") or operator.disabled_at:
            operator = None
        attempt.succeeded = operator is not None
    return operator


def totp_of(operator: Operator) -> pyotp.TOTP:
    return pyotp.TOTP(secrets.unseal(operator.totp_secret), interval=STEP_SECONDS)


def _step(moment) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def check_code(operator: Operator, code: str) -> bool:
    """The TOTP code is right for now (one step of drift either way) and newer than the last one used.

    Throttled per operator (raises LoginThrottled); the accepted step is recorded with a conditional
    UPDATE, so the same code sent twice at once is accepted once."""
    code = re.sub(r"\s+", "", code or "")
    with login_throttle.attempt(TOTP_THROTTLE_SITE, operator.username) as attempt:
        step = _matching_step(operator, code)
        attempt.succeeded = step is not None and _use_step(operator, step)
    return attempt.succeeded


def _matching_step(operator: Operator, code: str) -> int | None:
    if not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp, now = totp_of(operator), clock.now()
    for drift in (0, -1, 1):
        step = _step(now) + drift
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _use_step(operator: Operator, step: int) -> bool:
    now = clock.now()
    used = execute_dml(
        update(Operator)
        .where(Operator.id == operator.id)
        .where((Operator.totp_last_step.is_(None)) | (Operator.totp_last_step < step))
        .values(
            totp_last_step=step,
            last_login_at=now,
            totp_confirmed_at=operator.totp_confirmed_at or now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    commit_now("a TOTP step is used up for good, and the sign-in's audit rows are written on their own connections")
    db.session.refresh(operator)
    return used == 1


def provisioning_uri(operator: Operator) -> str:
    return totp_of(operator).provisioning_uri(name=operator.username, issuer_name=current_app.config["OPS_TOTP_ISSUER"])


def qr_svg(operator: Operator) -> bytes:
    """The enrolment QR code as an SVG document, served as an image (no script, no style: strict CSP)."""
    buffer = io.BytesIO()
    qr = segno.make(provisioning_uri(operator), error="m")
    qr.save(buffer, kind="svg", scale=5, border=2, dark="#1b1f24", light="#ffffff", xmldecl=False, svgns=True)
    return buffer.getvalue()


def current_code(operator: Operator) -> str:
    """The code of this moment (`flask ops totp`, the demo operator in development only)."""
    return totp_of(operator).at(_step(clock.now()) * STEP_SECONDS)


def seed_demo() -> Operator:
    """The demo operator, enrolled with DEMO_TOTP_SECRET (idempotent). Never called in production."""
    operator = find(DEMO_USERNAME)
    if operator is None:
        operator = Operator(
            username=DEMO_USERNAME,
            password_hash=generate_password_hash(DEMO_PASSWORD),
            totp_secret=secrets.seal(DEMO_TOTP_SECRET),
            totp_confirmed_at=clock.now(),
        )
        db.session.add(operator)
    return operator
