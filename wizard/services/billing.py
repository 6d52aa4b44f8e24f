"""Billing-center accounts and the binding of an Aliyun account to one of them (settlement)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db, savepoint
from ..i18n import lazy_gettext as _l
from ..models import BillingAccount, CloudAccountBinding
from .accounts import normalize_username
from .refusals import Refused

BOUND_ELSEWHERE = _l("该阿里云账号已绑定其他费用中心账号，不能再绑定此账号。")


def find_billing_account(username: str) -> BillingAccount | None:
    return db.session.scalar(select(BillingAccount).filter_by(username=normalize_username(username)))


def binding_of(ali_uid: str) -> CloudAccountBinding | None:
    return db.session.scalar(select(CloudAccountBinding).filter_by(ali_uid=ali_uid))


def bind_cloud_account(ali_uid: str, billing_account_id: int) -> None:
    """Settle the Aliyun account through the billing-center account, once and for all.

    Binding again to the same account is a no-op (a second tab, a double submit); an Aliyun
    account bound to another billing-center account is refused and nothing changes.
    """
    existing = binding_of(ali_uid)
    if existing is None:
        try:
            with savepoint():  # a savepoint: the caller's unit survives a lost race
                add_cloud_binding(ali_uid, billing_account_id)
            return
        except IntegrityError:  # another request bound it a moment ago: see to which account
            existing = cast(CloudAccountBinding, binding_of(ali_uid))  # the row the insert conflicted with
    if existing.billing_account_id != billing_account_id:
        raise Refused(BOUND_ELSEWHERE)


def add_cloud_binding(ali_uid: str, billing_account_id: int) -> CloudAccountBinding:
    """Add (not commit) the binding inside the caller's transaction (R3 creates the account with it).

    The flush lets the unique aliUid settle a race at once: IntegrityError, the caller rolls back (to a savepoint).
    """
    binding = CloudAccountBinding(ali_uid=ali_uid, billing_account_id=billing_account_id)
    db.session.add(binding)
    db.session.flush()
    return binding


def bind_by_username(ali_uid: str, username: str) -> None:
    """B1 after the code was checked: bind to the billing-center account of that username."""
    account = find_billing_account(username)
    if account is None:  # only reachable by guessing a code for an account that does not exist
        raise Refused(_l("验证码无效或已过期，请重新获取"))
    bind_cloud_account(ali_uid, account.id)


def add_billing_account(username: str, email: str, password_hash: str) -> BillingAccount:
    """Add (not commit) a billing-center account; R3 creates it with the Guance account's credentials."""
    account = BillingAccount(username=normalize_username(username), email=email, password_hash=password_hash)
    db.session.add(account)
    db.session.flush()
    return account
