"""Verification codes by email: issue one for a key and purpose, verify it once.

A key is the normalized identifier a code belongs to: the lower-cased email, or
"billing:<username>" for a billing-center account (B1; usernames are case-insensitive and
normalized like emails, see services/accounts.py). `request_code` and `verify_code` derive the key
from what the user typed; `issue` and `verify` take it directly.

Rules (the numbers are settings, see wizard/config.py):
- Six digits derived from a random seed (`secrets`) with HMAC-SHA256 keyed with SECRET_KEY over
  purpose, key and seed; only the seed is stored, so neither the database nor the queue ever holds
  a code, and the worker mails the same code however often it retries. Compared in constant time.
  Valid CODE_TTL_SECONDS, used once; a new code for the same key and purpose voids the previous one
  once it is delivered (until then the previous one keeps working).
- A key gets a code at most every CODE_RESEND_SECONDS and CODE_SENDS_PER_KEY_PER_HOUR times an
  hour, whatever the purpose, counted from the table when the send is requested. A send whose mail
  finally failed still counts: refunding it would let whoever can make mail fail (a mailbox that
  refuses, an outage) ask without limit, each request costing a delivery with its retries; and it
  cannot help exhaust anyone's limits, since it was counted when it was asked for like any other.
  Only a send the queue did not even take is forgotten (no cooldown, no count).
- Wrong tries belong to the key and purpose, not to one code: a new code takes over the wrong
  tries of the still-valid code it replaces, so resending never buys fresh guesses. The count
  starts from zero only when there is nothing valid to take over: the previous code was used,
  expired, or voided by its CODE_MAX_ATTEMPTS-th wrong try. Guessing is thus bounded by
  MAX_ATTEMPTS x SENDS_PER_KEY_PER_HOUR tries an hour against a million codes.
- No recipient (the username or email matches no account): the request does exactly the same work
  (it does not even look the account up), and the worker does everything but the mail itself, the
  SMTP server included (a session is opened and closed), so neither the answer, nor its timing, nor
  an SMTP outage tells whether the account exists.
- When the customer asks again and the previous code for the key finally failed to arrive, the
  answer says so (UNDELIVERED) before the usual message.

A send is two halves. The request (`issue`) writes the code, queued, checks the key's limits
against every other row and commits (commit_now: the worker must see it); then it queues the task.
The worker (`deliver`, from the task deliver_code) mails it with the queue's retries and backoff,
then activates it (void the previous code, take over its wrong tries, mark it sent) or, when its
retries ran out, marks it failed (`give_up`). Delivery is idempotent on the row: only a code not yet delivered, voided,
used or expired is mailed. What remains is the usual at-least-once window: a worker that dies
after the SMTP server took the mail and before it recorded that sends nothing again (the task is
gone with it), but the code then never becomes usable; the customer asks again after the cooldown.
The database allows one queued code per key, so two simultaneous sends cannot both pass; a queued
code older than the cooldown (its mail still on the way, or lost with its worker or a Redis
restart) is superseded by the next request. Verification consumes a code with a conditional
UPDATE, so exactly one of two simultaneous right answers wins.

A form that takes a code checks it first (`check_code`: a wrong one costs a try), then validates
the rest, then uses it up (`use_up`) in the same transaction as the action the code allows: a
submission refused for any other reason leaves the code valid (blueprints/codes/pages.py, redeem_code).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock, tasks
from ..db_types import Timestamp
from ..email import check_mail_server
from ..extensions import commit_now, db, execute_dml, savepoint
from ..i18n import lazy_gettext as _l
from ..i18n import lazy_ngettext as _ln
from ..models import BillingAccount, GuanceAccount
from ..models import VerificationCode as Code
from ..observability import metrics
from . import notices
from .accounts import normalize_email, normalize_username
from .refusals import Refused

HOUR = timedelta(hours=1)


# ---- What the user is told ----


class CodeError(Refused):
    """A code's refusal, next to the code field: `retry_after` is seconds to wait or None."""

    def __init__(self, message, retry_after: int | None = None) -> None:
        super().__init__(message, "code")
        self.retry_after = retry_after


class SendRefused(CodeError):
    """No code was sent."""


class CooldownActive(SendRefused):
    def __init__(self, retry_after: int) -> None:
        message = _ln(
            "请在 %(seconds)s 秒后重新获取验证码",
            "请在 %(seconds)s 秒后重新获取验证码",
            retry_after,
            seconds=retry_after,
        )
        super().__init__(message, retry_after)


class HourlyLimitReached(SendRefused):
    def __init__(self, retry_after: int) -> None:
        minutes = math.ceil(retry_after / 60)
        message = _ln(
            "获取验证码次数过多，请 %(minutes)s 分钟后再试",
            "获取验证码次数过多，请 %(minutes)s 分钟后再试",
            minutes,
            minutes=minutes,
        )
        super().__init__(message, retry_after)


class DeliveryFailed(SendRefused):
    """The queue did not take the send (its storage is down): nothing was written."""

    def __init__(self) -> None:
        super().__init__(_l("验证码发送失败，请稍后重试"))


class CodeRejected(CodeError):
    """The code typed does not verify."""


class WrongCode(CodeRejected):
    def __init__(self, remaining: int) -> None:
        super().__init__(
            _ln(
                "验证码错误，还可以尝试 %(remaining)s 次",
                "验证码错误，还可以尝试 %(remaining)s 次",
                remaining,
                remaining=remaining,
            )
        )
        self.remaining = remaining


class TooManyWrongCodes(CodeRejected):
    def __init__(self) -> None:
        super().__init__(_l("验证码错误次数过多，请重新获取"))


class NoValidCode(CodeRejected):
    """Never sent, expired, used, voided: one answer for all, so it tells nothing more."""

    def __init__(self) -> None:
        super().__init__(_l("验证码无效或已过期，请重新获取"))


@dataclass(frozen=True)
class CodeSent:
    message: object
    retry_after: int


def noting_undelivered(message):
    """The answer to a request whose previous code finally failed to arrive: say so first."""
    return _l("上一个验证码未能送达。%(then)s", then=message)


# ---- Purposes: what a code is for and where it goes ----


def _typed_email(key: str) -> str | None:
    return key


def _guance_account_email(key: str) -> str | None:
    """B2b: an existing Guance account's address, on any site (the page checks the site)."""
    return db.session.scalar(select(GuanceAccount.email).where(GuanceAccount.email == key).limit(1))


def _billing_account_email(key: str) -> str | None:
    """B1: the code goes to the email of the billing-center account with that username."""
    username = key.removeprefix(BILLING_PREFIX)
    return db.session.scalar(select(BillingAccount.email).where(BillingAccount.username == username))


@dataclass(frozen=True)
class Purpose:
    label: object  # the purpose in words, as the email states it
    identifier: str  # what the user types: "email" or "username"
    recipient: Callable[[str], str | None]  # the address for the key; None: no such account (the worker asks)


PURPOSES = {
    "register": Purpose(_l("注册观测云账号"), "email", _typed_email),
    "bind_billing": Purpose(_l("绑定费用中心账号"), "username", _billing_account_email),
    "create_workspace": Purpose(_l("创建工作空间"), "email", _guance_account_email),
    "register_workspace": Purpose(_l("注册观测云账号并创建工作空间"), "email", _typed_email),
    # 立即解锁 -> 费用中心 settlement: the billing-center account's owner confirms the switch.
    "settle_billing": Purpose(_l("切换为费用中心账号结算"), "username", _billing_account_email),
}

SENT_MESSAGES = {
    "email": _l("验证码已发送，请查收邮件"),
    # The same words whether the username exists or not (no enumeration): nothing names the address.
    "username": _l("若该账号存在，验证码已发送至其绑定邮箱，请查收"),
}


def purpose_of(name: str) -> Purpose:
    if name not in PURPOSES:
        raise ValueError(f"unknown verification code purpose {name!r}")
    return PURPOSES[name]


BILLING_PREFIX = "billing:"


def key_for(purpose: str, identifier: str) -> str:
    if purpose_of(purpose).identifier == "username":
        return f"{BILLING_PREFIX}{normalize_username(identifier)}"
    return normalize_email(identifier)


@dataclass(frozen=True)
class Limits:
    ttl: timedelta
    resend: timedelta
    max_attempts: int
    sends_per_hour: int

    @property
    def ttl_minutes(self) -> int:
        return max(1, int(self.ttl.total_seconds()) // 60)


def limits() -> Limits:
    config = current_app.config
    return Limits(
        ttl=timedelta(seconds=config["CODE_TTL_SECONDS"]),
        resend=timedelta(seconds=config["CODE_RESEND_SECONDS"]),
        max_attempts=config["CODE_MAX_ATTEMPTS"],
        sends_per_hour=config["CODE_SENDS_PER_KEY_PER_HOUR"],
    )


def new_seed() -> str:
    """128 random bits from the operating system's CSPRNG."""
    return secrets.token_hex(16)


def code_for(key: str, purpose: str, seed: str) -> str:
    """The six digits of a seed: HMAC-SHA256 keyed with SECRET_KEY over purpose, key and seed.

    Without SECRET_KEY a stored seed says nothing about its code; purpose and key are in the
    message, so a code fits one use. 64 bits reduced modulo a million: the bias is below 10^-13.
    """
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else secret.encode()
    message = "\x1f".join(("verification-code", purpose, key, seed)).encode()
    number = int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big") % 10**6
    return f"{number:06d}"


def _matches(expected: str, typed: str) -> bool:
    return hmac.compare_digest(expected.encode(), typed.encode())


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


# ---- Issuing: the request's half ----


# What a code that binds something says about it: the owner of the address learns which Aliyun
# account and instance are asking, and that an unknown one means someone else is trying.
def _billing_binding_notice(ali_uid: str, instance_id: str):
    return _l(
        "阿里云账号 %(ali_uid)s 正在申请绑定此费用中心账号（商品实例 ID：%(instance_id)s）。"
        "绑定后，该阿里云账号在云市场购买的观测云将通过此费用中心账号结算。",
        ali_uid=ali_uid,
        instance_id=instance_id,
    )


def _workspace_binding_notice(ali_uid: str, instance_id: str):
    return _l(
        "阿里云账号 %(ali_uid)s 正在以您的观测云账号创建工作空间，并将商品实例 %(instance_id)s 绑定到该工作空间结算。",
        ali_uid=ali_uid,
        instance_id=instance_id,
    )


BINDING_NOTICES = {"bind_billing": _billing_binding_notice, "create_workspace": _workspace_binding_notice}


@dataclass(frozen=True)
class Requester:
    """Who asks for the code: the Aliyun account and instance of the wizard's marketplace login."""

    ali_uid: str
    instance_id: str


def request_code(purpose: str, identifier: str, language: str, requester: Requester | None = None) -> CodeSent:
    """Send a code for the email or username typed on a page, in the page's language."""
    return issue(key_for(purpose, identifier), purpose, language, requester)


def issue(key: str, purpose: str, language: str, requester: Requester | None = None) -> CodeSent:
    """Write a fresh code for key and purpose and queue its mail (the worker finds the recipient);
    the mail of a code that binds something names the requester's Aliyun account and instance."""
    spec = purpose_of(purpose)
    reservation, undelivered = _reserve(key, purpose, language)
    commit_now("the queue's worker reads the code's row, so it is committed before its task is queued")
    try:
        tasks.enqueue("deliver_code", reservation, *(astuple(requester) if requester else ()))
    except tasks.QueueUnavailable:
        current_app.logger.warning("verification code (%s) not queued", purpose, exc_info=True)
        _release(reservation)
        raise DeliveryFailed() from None
    metrics.code_sent(purpose)
    message = SENT_MESSAGES[spec.identifier]
    return CodeSent(noting_undelivered(message) if undelivered else message, int(limits().resend.total_seconds()))


def _reserve(key: str, purpose: str, language: str) -> tuple[int, bool]:
    """Write the code, queued, then check the key's limits against every other row.

    Returns the code's id, and whether the previous code for the key finally failed to arrive.
    """
    now, rules = clock.now(), limits()
    undelivered = _previous_undelivered(key, now)
    try:
        with savepoint():  # a refused send leaves nothing behind
            reservation = _insert_checked(key, purpose, language, now, rules)
    except IntegrityError:
        # Another send for this key is queued, asked for within the cooldown: it holds the cooldown.
        refusal: CodeError = CooldownActive(_cooldown_left(key, now, rules))
    except CodeError as error:
        refusal = error
    else:
        return reservation, undelivered
    if undelivered:
        refusal.message = noting_undelivered(refusal.message)
    raise refusal


def _insert_checked(key: str, purpose: str, language: str, now: datetime, rules: Limits) -> int:
    """Void a waiting code the new one replaces, write the new one, queued, and check the key's limits."""
    _supersede_waiting(key, now, rules)
    reservation = db.session.execute(
        insert(Code)
        .values(
            recipient_key=key,
            purpose=purpose,
            seed=new_seed(),
            language=language,
            delivery="queued",
            attempts=0,
            sent_at=now,
            expires_at=now + rules.ttl,
        )
        .returning(Code.id)
    ).scalar_one()
    _check_limits(key, reservation, now, rules)
    return reservation


def _previous_undelivered(key: str, now: datetime) -> bool:
    latest = db.session.scalar(
        select(Code.delivery)
        .where(Code.recipient_key == key, Code.sent_at > now - HOUR)
        .order_by(Code.sent_at.desc(), Code.id.desc())
        .limit(1)
    )
    return latest == "failed"


def _supersede_waiting(key: str, now: datetime, rules: Limits) -> None:
    """A code still queued after the cooldown (SMTP down, its task lost) gives way to the new one.

    Its task, if it ever runs, finds it voided and sends nothing: the customer gets the newest code.
    """
    db.session.execute(
        update(Code)
        .where(
            Code.recipient_key == key,
            Code.delivery == "queued",
            Code.voided_at.is_(None),
            Code.sent_at <= now - rules.resend,
        )
        .values(voided_at=now)
        .execution_options(synchronize_session=False)
    )


def _check_limits(key: str, reservation: int, now: datetime, rules: Limits) -> None:
    """Refuse when the key used up its hourly sends, or its last send is within the cooldown."""
    recent = db.session.scalars(
        select(Code.sent_at)
        .where(Code.recipient_key == key, Code.id != reservation, Code.sent_at > now - HOUR)
        .order_by(Code.sent_at)
    ).all()
    if len(recent) >= rules.sends_per_hour:
        raise HourlyLimitReached(_seconds_until(recent[-rules.sends_per_hour] + HOUR, now))
    if recent and recent[-1] > now - rules.resend:
        raise CooldownActive(_seconds_until(recent[-1] + rules.resend, now))


def _cooldown_left(key: str, now: datetime, rules: Limits) -> int:
    last = db.session.scalar(select(func.max(Code.sent_at)).where(Code.recipient_key == key))
    if last is None or last + rules.resend <= now:  # the other send was not committed yet
        return _seconds_until(now + rules.resend, now)
    return _seconds_until(last + rules.resend, now)


def _binding_notice(purpose: str, requester: Requester | None):
    if requester is None or purpose not in BINDING_NOTICES:
        return None
    return BINDING_NOTICES[purpose](requester.ali_uid, requester.instance_id)


def _release(reservation: int) -> None:
    """Forget a send the queue did not take: it starts no cooldown and counts for no cap."""
    db.session.execute(delete(Code).where(Code.id == reservation).execution_options(synchronize_session=False))
    commit_now("its reservation was committed for the worker; the refusal that follows must not bring it back")


# ---- Delivering: the worker's half (task deliver_code) ----


def deliver(code_id: int, ali_uid: str = "", instance_id: str = "") -> None:
    """Mail the code (or, with no recipient, only reach the SMTP server), then make it the one that counts.

    `ali_uid` and `instance_id`: who asked (the wizard's marketplace login), named in the mail of a
    code that binds something.

    Does nothing for a code already delivered, voided, used or gone; a code that expired while it
    waited is marked failed instead (the customer is told when asking again). Raises what the SMTP
    exchange raises, and the queue retries.
    """
    now = clock.now()
    code = db.session.get(Code, code_id)
    if code is None or code.delivered_at or code.voided_at or code.consumed_at:
        return
    if code.expires_at <= now:
        give_up(code_id)
        return
    key, purpose, language = code.recipient_key, code.purpose, code.language
    spec = purpose_of(purpose)
    recipient = spec.recipient(key)
    requester = Requester(ali_uid, instance_id) if ali_uid else None
    values = {
        "code": code_for(key, purpose, code.seed), "purpose": spec.label, "minutes": limits().ttl_minutes,
        "binding": _binding_notice(purpose, requester),
    }  # fmt: skip
    commit_now("no transaction stays open while the SMTP server talks (nothing was written yet)")
    if recipient is None:
        check_mail_server()
    else:
        notices.send_mail("verification_code", recipient, language, values)
    _activate(code_id, key, purpose)


def give_up(code_id: int) -> None:
    """The mail could not be delivered (retries ran out, or the code expired waiting): mark it failed."""
    db.session.execute(
        update(Code)
        .where(Code.id == code_id, Code.delivered_at.is_(None))
        .values(delivery="failed")
        .execution_options(synchronize_session=False)
    )


def _open():
    return and_(Code.consumed_at.is_(None), Code.voided_at.is_(None))


def _activate(reservation: int, key: str, purpose: str) -> bool:
    """Make the delivered code the one that counts: void the previous one, take over its wrong tries."""
    now = clock.now()
    try:
        with savepoint():  # superseded: the codes it would have voided stay as they are
            replaced = db.session.execute(
                update(Code)
                .where(Code.recipient_key == key, Code.purpose == purpose, Code.id != reservation, _open())
                .values(voided_at=now)
                .returning(Code.attempts, Code.expires_at, Code.delivered_at)
                .execution_options(synchronize_session=False)
            ).all()
            carried = max((row.attempts for row in replaced if row.delivered_at and row.expires_at > now), default=0)
            activated = execute_dml(
                update(Code)
                .where(Code.id == reservation, Code.voided_at.is_(None), Code.delivered_at.is_(None))
                .values(delivered_at=now, delivery="sent", attempts=carried)
                .execution_options(synchronize_session=False)
            ).rowcount
            if activated != 1:
                raise _Superseded()
    except _Superseded:
        # A newer request superseded it while its mail was on the way: the newer one counts.
        current_app.logger.warning("verification code (%s) delivered after it was superseded", purpose)
        return False
    return True


class _Superseded(Exception):
    """A delivered code lost to a newer one: what _activate did is undone."""


# ---- Verifying ----


def verify_code(purpose: str, identifier: str, code: str) -> None:
    """Check the code typed for the email or username typed and use it up at once; raises CodeRejected."""
    verify(key_for(purpose, identifier), purpose, code)


def check_code(purpose: str, identifier: str, code: str) -> int:
    """Like verify_code, without using the code up: its id, for `use_up` or `spend_try` next."""
    return check(key_for(purpose, identifier), purpose, code)


def verify(key: str, purpose: str, code: str) -> None:
    """Return when the code is right, and use it up; a wrong one costs a try. Raises CodeRejected."""
    code_id = check(key, purpose, code)
    use_up(code_id)


def use_up(code_id: int) -> None:
    """Use up a code `check` found right, in the caller's transaction: it counts as used only when the
    action it allows commits with it. Raises NoValidCode when another request used it first."""
    _consume(code_id, clock.now())


def spend_try(code_id: int) -> None:
    """A right code on a form refused for another reason (a username already taken, an account bound
    elsewhere) costs a try like a wrong code, so such answers come no faster than codes can be guessed;
    the code itself stays valid."""
    try:
        _count_wrong_try(code_id, clock.now())
    except CodeRejected:
        pass  # the page says why the form was refused; the code's own state is for the next try


def check(key: str, purpose: str, code: str) -> int:
    """The live code's id when `code` is right (not used up yet); a wrong one costs a try. Raises CodeRejected."""
    purpose_of(purpose)
    now = clock.now()
    live = db.session.execute(
        select(Code.id, Code.seed)
        .where(Code.recipient_key == key, Code.purpose == purpose, _usable(now))
        .order_by(Code.sent_at.desc(), Code.id.desc())
        .limit(1)
    ).first()
    if live is None:
        metrics.code_checked(purpose, "none")
        raise NoValidCode()
    right = _matches(code_for(key, purpose, live.seed), code or "")
    metrics.code_checked(purpose, "ok" if right else "wrong")
    if not right:
        _count_wrong_try(live.id, now)  # raises
    return live.id


def _usable(now: datetime):
    return and_(_open(), Code.delivered_at.is_not(None), Code.expires_at > now)


def _consume(code_id: int, now: datetime) -> None:
    # Conditional: of two requests carrying the same right code, the database lets one through.
    used = execute_dml(
        update(Code)
        .where(Code.id == code_id, _usable(now))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise NoValidCode()


def _count_wrong_try(code_id: int, now: datetime) -> None:
    rules = limits()
    attempts = db.session.execute(
        update(Code)
        .where(Code.id == code_id, _open())
        .values(
            attempts=Code.attempts + 1,
            voided_at=case((Code.attempts + 1 >= rules.max_attempts, literal(now, Timestamp())), else_=None),
        )
        .returning(Code.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    commit_now("a wrong code costs its try for good, though the request that typed it is refused")
    if attempts is None:
        raise NoValidCode()
    if attempts >= rules.max_attempts:
        raise TooManyWrongCodes()
    raise WrongCode(rules.max_attempts - attempts)


# ---- Housekeeping ----


def prune() -> int:
    """Delete the codes no rule looks at any more (past the hourly window and their validity)."""
    cutoff = clock.now() - max(HOUR, limits().ttl)
    removed = execute_dml(
        delete(Code).where(Code.sent_at < cutoff).execution_options(synchronize_session=False)
    ).rowcount
    return removed
