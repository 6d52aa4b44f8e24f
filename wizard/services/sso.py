"""Login-free (免登) entry: accept the marketplace's signed browser redirect once, then a signed login."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import commit_now, db, execute_dml, savepoint
from ..i18n import lazy_gettext as _l
from ..models import MarketplaceInstance, SsoNonce
from ..statuses import InstanceStatus
from . import lifecycle
from .refusals import Refused
from .spi import SpiError, authenticate, parse_spi_time, record_call, required

MARKETPLACE_LOGIN_SALT = "guance.marketplace-login"
# A verified 免登 waiting for 继续 because another Aliyun account is mid-flow in this browser.
PENDING_LOGIN_SALT = "guance.marketplace-login.pending"

REFUSALS = {
    "invalid_token": (400, _l("免登链接的签名无效。")),
    "missing_instance": (400, _l("免登链接缺少商品实例 ID。")),
    "bad_timestamp": (400, _l("免登链接中的时间格式不正确。")),
    "outside_window": (400, _l("免登链接已过期（或时间不在允许的范围内）。")),
    "replayed": (400, _l("此免登链接已经使用过，每个链接只能使用一次。")),
    "unknown_instance": (400, _l("找不到该商品实例。")),
    "released": (400, _l("该商品实例已关闭，不能再通过免登进入观测云。")),
    "expired": (403, _l("该商品实例已过期，尚未绑定工作空间；在阿里云云市场续费后即可继续开通。")),
}


class LoginFreeRefused(Refused):
    """`instance`: the instance the link names, when it exists (the page says what became of it)."""

    def __init__(self, reason: str, instance: MarketplaceInstance | None = None) -> None:
        status, message = REFUSALS[reason]
        super().__init__(message)
        self.reason, self.instance, self.status = reason, instance, status


@dataclass(frozen=True)
class MarketplaceLogin:
    ali_uid: str
    instance_id: str


@dataclass(frozen=True)
class LoginFreeSettings:
    isv_key: str
    window_seconds: int
    timezone: str


def verify_login_free(
    params: Mapping[str, str], settings: LoginFreeSettings, repeated: bool = False
) -> MarketplaceLogin:
    """Check signature, time window, single use and instance; record the outcome either way.

    `repeated`: a parameter came more than once (`params` holds the first values), so no signature
    can vouch for what the link means: refused as an invalid link.
    """
    try:
        if repeated:
            raise LoginFreeRefused("invalid_token")
        login = _verify(params, settings)
    except LoginFreeRefused as refusal:
        record_call("verify", params, refusal.reason)  # the view shows the refusal; its unit keeps the record
        raise
    record_call("verify", params, "ok")
    commit_now("the token is used up and the call recorded before the new session is written on its own connection")
    return login


def _verify(params: Mapping[str, str], settings: LoginFreeSettings) -> MarketplaceLogin:
    try:
        authenticate(params, settings.isv_key)
    except SpiError:
        raise LoginFreeRefused("invalid_token") from None
    if not params.get("instanceId"):
        raise LoginFreeRefused("missing_instance")
    try:
        stamp = parse_spi_time(params.get("timeStamp", ""), "timeStamp", settings.timezone)
    except SpiError:
        raise LoginFreeRefused("bad_timestamp") from None
    window = timedelta(seconds=settings.window_seconds)
    # timeStamp has whole seconds: compare at that resolution so both window edges are inclusive.
    if abs(clock.now().replace(microsecond=0) - stamp) > window:
        raise LoginFreeRefused("outside_window")
    # Compared at whole seconds, the window accepts the stamp until one second after stamp + window:
    # the token must be remembered that long, or its replay in that last second would pass.
    _use_once(params["token"], stamp + window + timedelta(seconds=1))
    return _login_for(params)


def _forget_expired_tokens() -> int:
    """Tokens past their window: a replay of one fails the window check, so it need not be remembered."""
    return execute_dml(delete(SsoNonce).where(SsoNonce.expires_at < clock.now())).rowcount


def prune_tokens() -> int:
    """The periodic job (wizard/tasks.py): 免登 prunes as it goes, this covers the quiet hours."""
    return _forget_expired_tokens()


def _use_once(token: str, keep_until) -> None:
    """Remember the token until it would fail the time window anyway; a second use is a replay."""
    _forget_expired_tokens()
    try:
        with savepoint():  # the unique token decides between two uses at once
            db.session.add(SsoNonce(token=token, expires_at=keep_until))
    except IntegrityError:
        raise LoginFreeRefused("replayed") from None


def _login_for(params: Mapping[str, str]) -> MarketplaceLogin:
    try:
        instance_id = required(params, "instanceId")  # well formed, as createInstance accepted it
    except SpiError:  # so never queried: the database could not even compare a NUL
        raise LoginFreeRefused("unknown_instance") from None
    instance = refuse_unless_enterable(
        db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id))
    )
    return MarketplaceLogin(ali_uid=instance.ali_uid, instance_id=instance.instance_id)


def refuse_unless_enterable(instance: MarketplaceInstance | None) -> MarketplaceInstance:
    """The instance, or LoginFreeRefused unless 免登 may enter it: known, not released, and either active or
    expired with a workspace (whose lock page it then shows)."""
    if instance is None:
        raise LoginFreeRefused("unknown_instance")
    lifecycle.expire_if_overdue(instance)  # expiredInstance may never have arrived: the date decides
    if not instance.state.live:
        raise LoginFreeRefused("released", instance)
    if instance.state is InstanceStatus.EXPIRED and instance.workspace_id is None:
        raise LoginFreeRefused("expired", instance)
    return instance


def enterable(instance_id: str) -> LoginFreeRefused | None:
    """None when 免登 may enter the instance now, else the refusal that says why not."""
    try:
        refuse_unless_enterable(db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id)))
    except LoginFreeRefused as refusal:
        return refusal
    return None


def _serializer(secret_key: str, salt: str = MARKETPLACE_LOGIN_SALT) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def issue_marketplace_login(login: MarketplaceLogin, secret_key: str, salt: str = MARKETPLACE_LOGIN_SALT) -> str:
    return _serializer(secret_key, salt).dumps({"aliUid": login.ali_uid, "instanceId": login.instance_id})


def read_marketplace_login(
    token: str | None, secret_key: str, max_age: int, salt: str = MARKETPLACE_LOGIN_SALT
) -> MarketplaceLogin | None:
    """The login a valid, unexpired token carries; None for anything else."""
    if not token:
        return None
    try:
        payload = _serializer(secret_key, salt).loads(token, max_age=max_age)
        return MarketplaceLogin(ali_uid=str(payload["aliUid"]), instance_id=str(payload["instanceId"]))
    except (BadSignature, KeyError, TypeError):
        return None
