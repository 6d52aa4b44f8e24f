"""Guance accounts: registration with per-site uniqueness, password hashing, and login checks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db, savepoint
from ..i18n import lazy_gettext as _l
from ..models import GuanceAccount
from .refusals import Refused

# Checked against when the username is unknown, so a miss costs as much time as a wrong password.
_UNKNOWN_ACCOUNT_HASH = generate_password_hash("an account that does not exist")

TAKEN = {
    "username": _l("该用户名在此站点已被使用"),
    "email": _l("该邮箱在此站点已注册"),
}


class AccountConflict(Refused):
    """A username or email already taken on the site; `field` names it (R2 tells this from the rest)."""

    def __init__(self, field: str) -> None:
        super().__init__(TAKEN[field], field)


@dataclass(frozen=True)
class NewAccount:
    site: str
    username: str
    email: str
    password: str
    phone: str | None = None


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    return username.strip().lower()


def taken_field(site: str, username: str, email: str) -> str | None:
    """Which of username / email is already used on the site (for a message next to the field)."""
    if db.session.scalar(select(GuanceAccount.id).filter_by(site=site, username=normalize_username(username))):
        return "username"
    if db.session.scalar(select(GuanceAccount.id).filter_by(site=site, email=normalize_email(email))):
        return "email"
    return None


def ensure_free(site: str, username: str, email: str, fields=("username", "email")) -> None:
    """Raise AccountConflict for the first of `fields` already used on the site."""
    field = taken_field(site, username, email)
    if field is not None and field in fields:
        raise AccountConflict(field)


def add_guance_account(new: NewAccount, password_hash: str | None = None, **company) -> GuanceAccount:
    """Add (not commit) an account; the caller's transaction decides. Raises AccountConflict."""
    field = taken_field(new.site, new.username, new.email)
    if field:
        raise AccountConflict(field)
    account = GuanceAccount(
        site=new.site,
        username=normalize_username(new.username),
        email=normalize_email(new.email),
        password_hash=password_hash or hash_password(new.password),
        phone=new.phone or None,
        **company,
    )
    try:
        with savepoint():  # the unique constraints settle a race the check above missed
            db.session.add(account)
    except IntegrityError as error:
        raise AccountConflict("email" if "email" in str(error.orig) else "username") from None
    return account


def find_by_email(site: str, email: str) -> GuanceAccount | None:
    return db.session.scalar(select(GuanceAccount).filter_by(site=site, email=normalize_email(email)))


def log_in(site: str, username: str, password: str, language: str) -> GuanceAccount | None:
    """L1: the account when the pair is right, None when not; raises LoginThrottled (no password checked).

    Every username, known or not, goes through the same throttle and the same hash check; only the
    attempt that locks a real account sends its owner a notice.
    """
    from . import login_throttle, notices

    with login_throttle.attempt(site, username) as attempt:
        account = authenticate(site, username, password)
        attempt.succeeded = account is not None
    if attempt.locks_account:
        owner = db.session.scalar(select(GuanceAccount).filter_by(site=site, username=normalize_username(username)))
        if owner is not None:
            notices.send_notice(
                "login_locked", owner.email, language, username=owner.username, site=site, until=attempt.unlocked_at
            )
    return account


def authenticate(site: str, username: str, password: str) -> GuanceAccount | None:
    """The account when the pair is right; None for any wrong pair, in about the same time."""
    account = db.session.scalar(select(GuanceAccount).filter_by(site=site, username=normalize_username(username)))
    if account is None:
        check_password_hash(_UNKNOWN_ACCOUNT_HASH, password)
        return None
    return account if check_password_hash(account.password_hash, password) else None
