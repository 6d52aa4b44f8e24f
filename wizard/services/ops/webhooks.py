"""Outbound webhooks: the ISV's URLs told when an instance is created, activated, expires, is released
or its workspace locks; each delivery signed, retried with backoff through the queue, and on record.

Signing. Every POST carries `X-Guance-Signature: t=<unix time>,v1=<hex>`, where hex is
HMAC-SHA256(secret, "<t>.<body>"): the receiver recomputes it over the raw body and refuses a stale
`t` (a replayed delivery). The secret is shown once, when the endpoint is created; it is stored
encrypted (secrets.py), not hashed, since signing needs it.

Delivery. An event writes one delivery per subscribed endpoint in the transaction that decided the
event (so a rollback sends nothing) with its body fixed (every retry sends the same bytes and id),
and queues `deliver_webhook` when that commits. An attempt first claims the delivery with a
conditional UPDATE (two workers never post it at once), posts it, records the attempt (status code,
error, duration) and either marks it delivered (2xx) or schedules the next attempt:
WEBHOOK_RETRY_SECONDS doubling up to WEBHOOK_RETRY_MAX_SECONDS, at most WEBHOOK_MAX_ATTEMPTS, then
failed. The periodic job `retry_webhooks` (every minute) makes the due attempts.

SSRF. Only http(s) URLs with a host and no credentials. The host is resolved and every address must
be public (not loopback, private, link-local, multicast, reserved or unspecified) unless
WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on (development and tests post to 127.0.0.1). It is checked when the
URL is saved and again at each attempt, and the request goes to the address that was checked (the
Host header and TLS name stay the URL's), so a DNS answer that changes in between cannot redirect it.
Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets as random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from flask import current_app
from sqlalchemy import literal, select, update

from ... import clock, tasks
from ...db_types import Timestamp
from ...extensions import commit_now, db, execute_dml
from ...i18n import lazy_gettext as _l
from ...models import MarketplaceInstance
from ...observability import logs, metrics
from ...ops_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from . import secrets

EVENTS = {
    "instance.created": _l("实例已创建"),
    "instance.activated": _l("开通成功"),
    "instance.expired": _l("实例已到期"),
    "instance.released": _l("实例已关闭"),
    "instance.locked": _l("工作空间已锁定"),
}
TEST_EVENT = "webhook.test"
SIGNATURE_HEADER = "X-Guance-Signature"
USER_AGENT = "Guance-Webhooks/1.0"
ERROR_LENGTH = 255
log = logs.get_logger("wizard.webhooks")


class WebhookRefused(Exception):
    def __init__(self, message, field: str = "url") -> None:
        super().__init__(str(message))
        self.message, self.field = message, field


@dataclass(frozen=True)
class Target:
    """Where an attempt really connects: the checked address, and the URL's own host for Host and TLS."""

    url: str
    host: str
    host_header: str


# ---- The URL ----


def _allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return allow_private or ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
    except (socket.gaierror, UnicodeError, OSError):
        raise WebhookRefused(_l("无法解析该地址的主机名")) from None


def resolve(url: str, allow_private: bool) -> Target:
    """The URL's checked target; raises WebhookRefused with a message for the page."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused(_l("请输入有效的网址")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(_l("只支持 http:// 或 https:// 开头的网址"))
    if parts.username or parts.password:
        raise WebhookRefused(_l("网址中不能包含用户名或密码"))
    addresses = _addresses(parts.hostname, port)
    if not addresses or not all(_allowed(address, allow_private) for address in addresses):
        raise WebhookRefused(_l("不允许发送到本机、内网或保留地址"))
    address = addresses[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    connect = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(connect, parts.hostname, parts.netloc.rsplit("@", 1)[-1])


def check_url(url: str) -> str:
    url = (url or "").strip()
    if not url or len(url) > 2048:
        raise WebhookRefused(_l("请输入有效的网址"))
    resolve(url, current_app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"])
    return url


# ---- Endpoints ----


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def create_endpoint(url: str, events: list[str], description: str, operator_id: int | None) -> NewEndpoint:
    """A new endpoint (in the view's unit of work, with its audit row); raises WebhookRefused."""
    url = check_url(url)
    chosen = [event for event in EVENTS if event in set(events)]
    if not chosen:
        raise WebhookRefused(_l("请至少选择一个事件"), "events")
    secret = "whsec_" + random.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        url=url, description=(description or "").strip()[:200], events=chosen, secret=secrets.seal(secret),
        secret_hint=secret[-4:], created_by=operator_id,
    )  # fmt: skip
    db.session.add(endpoint)
    db.session.flush()
    return NewEndpoint(endpoint, secret)


def endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc())))


def set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    endpoint.disabled_at = None if enabled else clock.now()


# ---- Events ----


def _body(event: str, event_id: str, now: datetime, data: dict) -> str:
    payload = {"id": event_id, "type": event, "created_at": now.isoformat(), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def instance_data(instance: MarketplaceInstance) -> dict:
    workspace = instance.workspace or instance.released_workspace
    return {
        "instanceId": instance.instance_id,
        "aliUid": instance.ali_uid,
        "status": instance.status,
        "expiresAt": instance.expires_at.isoformat() if instance.expires_at else None,
        "workspace": {"id": workspace.id, "name": workspace.name} if workspace else None,
    }


def _queue(endpoint: WebhookEndpoint, event: str, event_id: str, body: str, instance_id: str | None, now):
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id, event_id=event_id, event=event, instance_id=instance_id, body=body,
        status="pending", attempts=0, next_attempt_at=now,
    )  # fmt: skip
    db.session.add(delivery)
    db.session.flush()
    tasks.enqueue_on_commit("deliver_webhook", delivery.id)
    return delivery


def emit(event: str, instance: MarketplaceInstance) -> int:
    """Queue `event` about `instance` for every enabled endpoint that wants it, in the caller's
    transaction; returns how many deliveries were written."""
    subscribed = [e for e in db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None)))
                  if event in (e.events or [])]  # fmt: skip
    if not subscribed:
        return 0
    db.session.refresh(instance)  # the change was an UPDATE statement: read the instance as it is now
    now, event_id = clock.now(), f"evt_{uuid.uuid4().hex}"
    body = _body(event, event_id, now, instance_data(instance))
    for endpoint in subscribed:
        _queue(endpoint, event, event_id, body, instance.instance_id, now)
    log.info("webhook event", webhook_event=event, instance_id=instance.instance_id, deliveries=len(subscribed))
    return len(subscribed)


def send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """发送测试事件: a delivery of webhook.test to this endpoint (enabled or not), queued on commit."""
    now, event_id = clock.now(), f"evt_{uuid.uuid4().hex}"
    body = _body(TEST_EVENT, event_id, now, {"message": "This is a test event from Guance.", "endpoint": endpoint.id})
    return _queue(endpoint, TEST_EVENT, event_id, body, None, now)


# ---- Delivering ----


def signature(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = min(config["WEBHOOK_RETRY_SECONDS"] * 2 ** max(attempts - 1, 0), config["WEBHOOK_RETRY_MAX_SECONDS"])
    return timedelta(seconds=seconds)


def _claim(delivery_id: int, now: datetime) -> bool:
    """This worker's turn at the delivery (due and pending): one conditional UPDATE decides."""
    lease = now + timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + 60)
    claimed = execute_dml(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= literal(now, Timestamp()),
        )
        .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    commit_now("the claim holds before the request: no transaction stays open while the endpoint answers")
    return claimed == 1


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> Answer:
    config, started = current_app.config, time.perf_counter()
    try:
        target = resolve(endpoint.url, config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"])
        stamp = int(clock.now().timestamp())
        headers = {
            "Host": target.host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Guance-Event": delivery.event,
            "X-Guance-Delivery": delivery.event_id,
            SIGNATURE_HEADER: signature(secrets.unseal(endpoint.secret), stamp, delivery.body),
        }
        with httpx.Client(timeout=config["WEBHOOK_TIMEOUT_SECONDS"], follow_redirects=False) as client:
            response = client.post(
                target.url, content=delivery.body.encode(), headers=headers, extensions={"sni_hostname": target.host}
            )
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return Answer(response.status_code, error, _ms(started))
    except WebhookRefused as refusal:
        return Answer(None, f"Refused: {refusal}", _ms(started))
    except secrets.SecretUnreadable:
        return Answer(None, "SecretUnreadable: the signing secret was sealed with another key", _ms(started))
    except httpx.HTTPError as error:
        return Answer(None, f"{type(error).__name__}: {error}"[:ERROR_LENGTH], _ms(started))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def deliver(delivery_id: int) -> str | None:
    """One attempt at the delivery if it is due and this worker claims it; returns its new status."""
    now = clock.now()
    if not _claim(delivery_id, now):
        return None
    delivery = db.session.get_one(WebhookDelivery, delivery_id)  # _claim found it
    answer = _post(delivery.endpoint, delivery)
    db.session.add(WebhookAttempt(
        delivery_id=delivery.id, attempted_at=now, status_code=answer.status_code, error=answer.error,
        duration_ms=answer.duration_ms,
    ))  # fmt: skip
    _settle(delivery, answer, clock.now())
    metrics.webhook_attempt(delivery.event, "delivered" if answer.delivered else "failed")
    log.info("webhook attempt", delivery=delivery.id, webhook_event=delivery.event, status=delivery.status,
             status_code=answer.status_code, error=answer.error)  # fmt: skip
    return delivery.status


def _settle(delivery: WebhookDelivery, answer: Answer, now: datetime) -> None:
    delivery.last_error = answer.error
    if answer.delivered:
        delivery.status, delivery.delivered_at = "delivered", now
    elif delivery.attempts >= current_app.config["WEBHOOK_MAX_ATTEMPTS"]:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)


def retry_due(limit: int = 100) -> int:
    """The periodic job: an attempt at every delivery whose time has come; returns how many were made."""
    due = db.session.scalars(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= literal(clock.now(), Timestamp())
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    ).all()
    return sum(deliver(delivery_id) is not None for delivery_id in due)


def deliveries(endpoint_id: int, cursor, size: int):
    from sqlalchemy.orm import selectinload

    from .paging import newest_first

    # The attempts of the whole page in one more query (lazily, each delivery cost one: 50 per page).
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .options(selectinload(WebhookDelivery.attempt_log))
    )
    return newest_first(
        statement, WebhookDelivery.created_at, WebhookDelivery.id, cursor, size,
        key_of=lambda row: (row.WebhookDelivery.created_at, row.WebhookDelivery.id),
    )  # fmt: skip


# ---- The queue ----


@tasks.task()
def deliver_webhook(delivery_id: int) -> None:
    """One attempt at a webhook delivery (the next ones: the periodic job retry_webhooks)."""
    deliver(delivery_id)


@tasks.periodic("Webhook attempts: {}.", minute="*")
def retry_webhooks() -> int:
    """Webhook deliveries whose next attempt is due: posted again (backoff doubling up to an hour)."""
    return retry_due()
