"""Outbound webhooks: signed deliveries of the instance's events, retried with backoff, on record,
a test event, and no way to reach the server's own network."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from wizard import clock
from wizard.extensions import one_transaction
from wizard.ops_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from wizard.services.ops import webhooks

from .activation import activate_by_binding, add_billing_account
from .conftest import customer_of
from .helpers import csrf_token, text_of
from .marketplace import call_spi, create_instance
from .ops_support import Receiver, add_operator, post_button, sign_in

ALL_EVENTS = list(webhooks.EVENTS)


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


def add_webhook(client, url: str, events=ALL_EVENTS):
    page = client.get("/ops/webhooks")
    data = {"csrf_token": csrf_token(page.data), "url": url, "description": "ISV", "events": events}
    return client.post("/ops/webhooks", data=data)


@pytest.fixture
def operator(app):
    add_operator(app)
    browser = app.test_client()
    sign_in(browser)
    return browser


def verify(secret: str, headers: dict, body: str) -> bool:
    """What a receiver does: recompute the signature over "<t>.<body>"."""
    parts = dict(item.split("=", 1) for item in headers["X-Guance-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_the_secret_is_shown_once_and_stored_encrypted(app, operator, db, receiver):
    response = add_webhook(operator, receiver.url)
    page = text_of(operator.get(response.headers["Location"]))
    secret = re.search(r"(whsec_[\w-]+)", page).group(1)
    assert "只显示这一次" in page
    assert secret not in text_of(operator.get(response.headers["Location"]))  # once
    stored = db.session.scalar(select(WebhookEndpoint))
    assert secret not in stored.secret and stored.secret_hint == secret[-4:]


def test_a_test_event_is_delivered_signed_and_listed_with_its_attempt(app, operator, db, receiver):
    location = add_webhook(operator, receiver.url).headers["Location"]
    secret = re.search(r"(whsec_[\w-]+)", text_of(operator.get(location))).group(1)
    endpoint_id = int(location.rsplit("/", 1)[1])
    post_button(operator, location, f"/ops/webhooks/{endpoint_id}/test")
    ((headers, body, path),) = receiver.received
    assert path == "/hooks/guance" and headers["X-Guance-Event"] == "webhook.test"
    assert verify(secret, headers, body) and not verify("whsec_other", headers, body)
    payload = json.loads(body)
    assert payload["type"] == "webhook.test" and payload["id"] == headers["X-Guance-Delivery"]
    page = text_of(operator.get(location))
    assert "已送达" in page and "204" in page
    assert db.session.scalar(select(WebhookDelivery.status)) == "delivered"


def test_instance_events_reach_the_endpoints_that_want_them(app, client, operator, db, smtp, receiver):
    add_webhook(operator, receiver.url, ["instance.created", "instance.activated", "instance.expired",
                                        "instance.released"])  # fmt: skip
    add_billing_account()
    instance_id = activate_by_binding(customer_of(app, smtp, client))
    call_spi(client, app, action="expiredInstance", instanceId=instance_id)
    call_spi(client, app, action="releaseInstance", instanceId=instance_id, isRefund="false")
    events = [json.loads(body) for _headers, body, _path in receiver.received]
    assert [event["type"] for event in events] == [
        "instance.created", "instance.activated", "instance.expired", "instance.released"
    ]  # fmt: skip
    assert {event["data"]["instanceId"] for event in events} == {instance_id}
    assert events[1]["data"]["workspace"]["name"] == "生产环境"
    create_instance(client, app, order_biz_id=instance_id)  # the same order again: nothing new
    assert len(receiver.received) == 4


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(app, operator, db, receiver, frozen_clock):
    app.config.update(WEBHOOK_MAX_ATTEMPTS=3, WEBHOOK_RETRY_SECONDS=30)
    receiver.status = 500
    location = add_webhook(operator, receiver.url).headers["Location"]
    post_button(operator, location, location + "/test")
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=30)
    with app.app_context(), one_transaction():  # as the periodic job or command runs it
        assert webhooks.retry_due() == 0  # not due yet
        frozen_clock.advance(30)
        assert webhooks.retry_due() == 1
    db.session.expire_all()
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.attempts == 2 and delivery.next_attempt_at == clock.now() + timedelta(seconds=60)  # doubled
    receiver.status = 302  # a redirect is not followed: still a failure
    frozen_clock.advance(60)
    with app.app_context(), one_transaction():  # as the periodic job or command runs it
        webhooks.retry_due()
    db.session.expire_all()
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 302")
    assert len(receiver.received) == 3
    assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 3
    assert "已放弃" in text_of(operator.get(location))


def test_a_disabled_endpoint_gets_no_events(app, client, operator, db, receiver):
    location = add_webhook(operator, receiver.url).headers["Location"]
    post_button(operator, location, location + "/disable")
    create_instance(client, app)
    assert receiver.received == []
    post_button(operator, location, location + "/enable")
    create_instance(client, app)
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/hook", "只支持 http:// 或 https://"),
        ("file:///etc/passwd", "只支持 http:// 或 https://"),
        ("http://user:pw@example.com/", "不能包含用户名或密码"),
        ("http://127.0.0.1:8080/", "不允许发送到本机、内网或保留地址"),
        ("http://localhost/", "不允许发送到本机、内网或保留地址"),
        ("http://10.1.2.3/", "不允许发送到本机、内网或保留地址"),
        ("http://169.254.169.254/latest/meta-data", "不允许发送到本机、内网或保留地址"),
        ("http://[::1]/", "不允许发送到本机、内网或保留地址"),
        ("http://[::ffff:127.0.0.1]/", "不允许发送到本机、内网或保留地址"),
        ("http://0.0.0.0/", "不允许发送到本机、内网或保留地址"),
        ("http://no-such-host.invalid/", "无法解析"),
    ],
)
def test_urls_that_reach_the_server_s_own_network_are_refused(app, operator, db, url, message):
    app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = False
    response = add_webhook(operator, url)
    assert response.status_code == 200 and message in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_the_address_is_checked_again_at_each_attempt(app, operator, db, receiver, monkeypatch):
    """A name that was public when saved and points inside later (DNS rebinding) gets nothing."""
    public = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: public)
    app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = False
    location = add_webhook(operator, "http://hooks.isv.example/guance").headers["Location"]
    inside = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: inside)
    post_button(operator, location, location + "/test")
    attempt = db.session.scalar(select(WebhookAttempt))
    assert attempt.status_code is None and "不允许发送到本机" in attempt.error


def test_webhook_buttons_need_the_csrf_token_and_are_audited(app, operator, db, receiver):
    from wizard.ops_models import OperatorAudit

    location = add_webhook(operator, receiver.url).headers["Location"]
    assert operator.post(location + "/test").status_code == 400
    post_button(operator, location, location + "/test")
    post_button(operator, location, location + "/disable")
    actions = db.session.scalars(select(OperatorAudit.action).order_by(OperatorAudit.id)).all()
    assert actions[-3:] == ["webhook_created", "webhook_test_sent", "webhook_disabled"]
