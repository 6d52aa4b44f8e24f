"""The registration path (R1-R3) for an Aliyun account with no billing-center account yet.

R1 saves a draft (the email already proved by a code), R2 turns it into the Guance account and
records the registration of the Aliyun account, R3 activates: the billing-center account with
the same credentials, the Aliyun binding, the workspace and the instance binding. Each step runs in
its page's unit of work, the part a race can refuse in a savepoint: an error anywhere leaves nothing
of that step behind.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db, execute_dml, savepoint
from ..i18n import lazy_gettext as _l
from ..models import MarketplaceInstance, MarketplaceRegistration, RegistrationDraft, Workspace
from . import billing
from .accounts import (
    AccountConflict,
    NewAccount,
    add_guance_account,
    hash_password,
    normalize_email,
    normalize_username,
)
from .refusals import Refused
from .workspaces import NewWorkspace, add_workspace, bind_instance

DRAFT_EXPIRED = _l("注册信息已过期，请重新填写基本信息。")
TAKEN_SINCE_R1 = _l("注册未完成：用户名或邮箱刚刚已被他人注册，请修改基本信息后重新提交。")
ALREADY_BOUND = _l("该阿里云账号已绑定费用中心账号，请按当前进度继续。")
ALREADY_ACTIVATED = _l("本次注册已完成开通，无需再次提交。")


def billing_username_taken(username: str):
    return _l(
        "费用中心账号用户名「%(username)s」已被其他费用中心账号使用，无法同步创建。"
        "您可以取消勾选，先通过观测云直接结算开通；或绑定您已有的费用中心账号。",
        username=username,
    )


@dataclass(frozen=True)
class BasicInfo:
    """R1: who the new Guance account is."""

    site: str
    username: str
    email: str
    password: str
    phone: str


@dataclass(frozen=True)
class CompanyInfo:
    """R2: the company; all but the name optional."""

    company_name: str
    industry: str | None = None
    company_size: str | None = None
    contact_name: str | None = None


# ---- R1: the draft ----


def _kept_password_hash(draft_id: str | None, ali_uid: str) -> str:
    """The password of the draft R1 replaces (back from R2, the password left empty); gone meanwhile
    (pruned, expired), the customer types one again."""
    draft = find_draft(draft_id, ali_uid)
    if draft is None:
        raise Refused(_l("请输入登录密码"), "password")
    return draft.password_hash


def save_draft(ali_uid: str, info: BasicInfo, replaces: str | None = None) -> str:
    """Keep R1's answers for R2 (the password only hashed); returns the draft's id for the session.

    R1 sent again from R2 without a password (`info.password` empty) keeps the replaced draft's.
    """
    now = clock.now()
    if info.password:
        password_hash = hash_password(info.password)
    else:
        password_hash = _kept_password_hash(replaces, ali_uid)
    ttl = timedelta(seconds=current_app.config["REGISTRATION_DRAFT_TTL_SECONDS"])
    draft = RegistrationDraft(
        id=secrets.token_urlsafe(32),
        ali_uid=ali_uid,
        site=info.site,
        username=normalize_username(info.username),
        email=normalize_email(info.email),
        phone=info.phone,
        password_hash=password_hash,
        created_at=now,
        expires_at=now + ttl,
    )
    # The draft it replaces (R1 sent again) and every expired one go: nothing lingers.
    db.session.execute(delete(RegistrationDraft).where((RegistrationDraft.id == replaces) | _expired(now)))
    db.session.add(draft)
    return draft.id


def _expired(now):
    return RegistrationDraft.expires_at <= now


def prune_drafts() -> int:
    """The periodic job (wizard/tasks.py): saving a draft prunes too, this covers the quiet hours."""
    return execute_dml(delete(RegistrationDraft).where(_expired(clock.now()))).rowcount


def find_draft(draft_id: str | None, ali_uid: str) -> RegistrationDraft | None:
    """The live draft of that id, and only for the Aliyun account that saved it."""
    if not draft_id:
        return None
    draft = db.session.get(RegistrationDraft, draft_id)
    if draft is None or draft.ali_uid != ali_uid or draft.expires_at <= clock.now():
        return None
    return draft


# ---- R2: the Guance account ----


def registration_of(ali_uid: str) -> MarketplaceRegistration | None:
    return db.session.scalar(select(MarketplaceRegistration).filter_by(ali_uid=ali_uid))


def register_account(ali_uid: str, draft_id: str | None, company: CompanyInfo) -> MarketplaceRegistration:
    """R2 注册: the Guance account from the draft, recorded as this Aliyun account's registration.

    Raises Refused when the draft expired, or when its username or email was taken
    since R1 (the draft stays, so R1 can show it and the field to change). Sent twice, it
    registers once.
    """
    draft = find_draft(draft_id, ali_uid)
    if draft is None:
        return _registered_already(ali_uid, Refused(DRAFT_EXPIRED))
    try:
        with savepoint():  # a savepoint: a lost race leaves nothing of this attempt
            return _register(draft, company)
    except (AccountConflict, IntegrityError):  # maybe a second tab of the same customer won
        return _registered_already(ali_uid, Refused(TAKEN_SINCE_R1))


def _register(draft: RegistrationDraft, company: CompanyInfo) -> MarketplaceRegistration:
    new = NewAccount(site=draft.site, username=draft.username, email=draft.email, password="", phone=draft.phone)
    account = add_guance_account(
        new,
        password_hash=draft.password_hash,
        company_name=company.company_name,
        industry=company.industry,
        company_size=company.company_size,
        contact_name=company.contact_name,
    )
    registration = MarketplaceRegistration(ali_uid=draft.ali_uid, account=account)
    db.session.add(registration)
    _delete_drafts(draft.ali_uid)
    db.session.flush()
    return registration


def _delete_drafts(ali_uid: str) -> None:
    """Used up: this draft and any other tab's draft of the same Aliyun account (the account exists now)."""
    db.session.execute(delete(RegistrationDraft).where(RegistrationDraft.ali_uid == ali_uid))


def _registered_already(ali_uid: str, refusal: Exception) -> MarketplaceRegistration:
    """The registration another request made for this Aliyun account; else the refusal stands."""
    registration = registration_of(ali_uid)
    if registration is None:
        raise refusal
    _delete_drafts(ali_uid)  # this tab's draft lost the race: it is of no use any more
    return registration


# ---- R3: activation ----


def activate(
    instance: MarketplaceInstance,
    registration: MarketplaceRegistration,
    details: NewWorkspace,
    with_billing_account: bool,
) -> Workspace:
    """R3 开通, all or nothing, once.

    With the billing-center account: that account (same username and password hash as the Guance
    account), the Aliyun account bound to it, the workspace settled by it and the instance bound.
    Without: only the workspace, settled by Guance directly. Raises Refused.
    """
    owner, ali_uid = registration.account, registration.ali_uid
    try:
        with savepoint():  # a savepoint: all of it, or nothing of it in the caller's unit
            _complete(registration)
            billing_account_id = _add_billing_account(ali_uid, owner) if with_billing_account else None
            workspace = add_workspace(details, owner, billing_account_id)
            if billing_account_id is not None:
                bind_instance(instance, workspace)
            registration.workspace = workspace
    except IntegrityError:  # a race the checks missed: the username, or the Aliyun account bound meanwhile
        raise _lost_race(ali_uid, owner.username) from None
    return workspace


def _complete(registration: MarketplaceRegistration) -> None:
    # Conditional, and first: of two 开通 sent at once the database lets one through.
    done = execute_dml(
        update(MarketplaceRegistration)
        .where(MarketplaceRegistration.id == registration.id, MarketplaceRegistration.completed_at.is_(None))
        .values(completed_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Refused(ALREADY_ACTIVATED)


def _add_billing_account(ali_uid: str, owner) -> int:
    # Billing-center usernames are global; the Guance username is only unique on its site.
    if billing.find_billing_account(owner.username) is not None:
        raise Refused(billing_username_taken(owner.username), "create_billing_account")
    account = billing.add_billing_account(owner.username, owner.email, owner.password_hash)
    billing.add_cloud_binding(ali_uid, account.id)
    return account.id


def _lost_race(ali_uid: str, username: str) -> Refused:
    if billing.binding_of(ali_uid) is not None:
        return Refused(ALREADY_BOUND)
    return Refused(billing_username_taken(username), "create_billing_account")
