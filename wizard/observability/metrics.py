"""Prometheus metrics (prometheus_client), served at GET /metrics.

Under gunicorn each worker process counts on its own: with PROMETHEUS_MULTIPROC_DIR set (the
Procfile, bench, production) prometheus_client keeps every process's values in files there and
/metrics adds them up (MultiProcessCollector); the gunicorn config (wizard/observability/gunicorn.py)
empties the directory at start and marks exited workers dead. The queue's worker writes its counters
(metering pushes, webhook deliveries, mails) to the same directory when it has the same environment.
Without the variable (tests, `flask run`) the process's own registry is served.

Labels only ever take values from fixed lists (an SPI action not in the protocol is "other"), so a
stranger cannot grow the number of series. Access: from loopback only, unless METRICS_TOKEN is set;
then only with `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time), from anywhere.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

SPI_ACTIONS = frozenset(
    {"createInstance", "renewInstance", "upgradeInstance", "expiredInstance", "releaseInstance", "verify"}
)

REQUEST_LATENCY = Histogram(
    "guance_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL rule (endpoint), method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SPI_CALLS = Counter("guance_spi_calls", "Marketplace SPI calls, by action and outcome.", ["action", "outcome"])
LOGIN_FREE = Counter("guance_login_free", "Login-free (免登) entries, by outcome.", ["outcome"])
CODES_SENT = Counter("guance_codes_sent", "Verification codes queued for mailing, by purpose.", ["purpose"])
CODES_CHECKED = Counter(
    "guance_codes_checked", "Verification codes typed, by purpose and result (ok, wrong, none).", ["purpose", "result"]
)
FUNNEL_STEPS = Counter("guance_funnel_steps", "Instances reaching an activation step for the first time.", ["step"])
METERING_PUSHES = Counter(
    "guance_metering_pushes", "PushMeteringData requests, by outcome (pushed, failed, pending).", ["outcome"]
)
METERING_HOURS = Counter(
    "guance_metering_pushed_hours", "Usage hours in PushMeteringData requests, by outcome.", ["outcome"]
)
WEBHOOK_ATTEMPTS = Counter(
    "guance_webhook_attempts",
    "Webhook delivery attempts, by event and outcome (delivered, failed).",
    ["event", "outcome"],
)
OPERATOR_LOGINS = Counter("guance_operator_logins", "Operator sign-ins, by outcome.", ["outcome"])


def known_action(action: str) -> str:
    return action if action in SPI_ACTIONS else "other"


def bounded(value: str, limit: int = 40) -> str:
    """Outcomes are the code's own words; anything odd (or long) is "other"."""
    return value if value and len(value) <= limit and value.replace("_", "").replace(".", "").isalnum() else "other"


def observe_request(rule: str | None, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(rule or "unmatched", method if method.isalpha() else "other", str(status)).observe(seconds)


def spi_call(action: str, outcome: str) -> None:
    SPI_CALLS.labels(known_action(action), bounded(outcome)).inc()
    if action == "verify":
        LOGIN_FREE.labels(bounded(outcome)).inc()


def code_sent(purpose: str) -> None:
    CODES_SENT.labels(bounded(purpose)).inc()


def code_checked(purpose: str, result: str) -> None:
    CODES_CHECKED.labels(bounded(purpose), result).inc()


def funnel_step(step: str) -> None:
    FUNNEL_STEPS.labels(step).inc()


def metering_push(outcome: str, hours: int) -> None:
    METERING_PUSHES.labels(outcome).inc()
    METERING_HOURS.labels(outcome).inc(hours)


def webhook_attempt(event: str, outcome: str) -> None:
    WEBHOOK_ATTEMPTS.labels(bounded(event), outcome).inc()


def operator_login(outcome: str) -> None:
    OPERATOR_LOGINS.labels(outcome).inc()


class QueueCollector:
    """The task queue's depth, read when scraped: waiting, scheduled, retrying, failed."""

    def collect(self):
        from ..tasks import status

        family = GaugeMetricFamily("guance_queue_tasks", "Tasks in the queue, by state.", labels=["state"])
        try:
            state = status()
        except Exception:  # the queue or the database is down: /readyz says which; no gauge now
            current_app.logger.warning("queue depth unavailable", exc_info=True)
            return
        for name in ("waiting", "scheduled", "retrying", "failed"):
            family.add_metric([name], getattr(state, name))
        yield family


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(QueueCollector())
    return generate_latest(counted) + generate_latest(scraped)


def allowed() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        offered = request.headers.get("Authorization", "")
        return hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    if not allowed():
        abort(404)  # as if there were nothing here: the address says nothing to strangers
    return Response(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
