"""Per request: a request id (X-Request-Id, and on error pages), one JSON log line, the latency metric.

The id is ours (32 hex digits) unless a trusted proxy (PROXY_COUNT > 0) sent one that looks like an
id: then the proxy's, so its logs and ours join. A client cannot choose what appears in our logs.
"""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, g, request, session

from . import logs, metrics

HEADER = "X-Request-Id"
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_IDENTIFIER = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,32}")
log = logs.get_logger("wizard.request")


def request_id() -> str | None:
    return g.get("request_id")


def _incoming_id(app: Flask) -> str | None:
    offered = request.headers.get(HEADER, "")
    return offered if app.config["PROXY_COUNT"] and _ACCEPTABLE_ID.fullmatch(offered) else None


def _spi_context() -> dict:
    """What an SPI call names (never its token): its action, the instance, the Aliyun account."""
    args = request.args
    instance = args.get("instanceId") or args.get("orderBizId") or ""
    ali_uid = args.get("aliUid", "")
    return {
        "spi_action": metrics.known_action(args.get("action", "")),
        "instance_id": instance if _IDENTIFIER.fullmatch(instance) else None,
        "ali_uid": ali_uid if _DIGITS.fullmatch(ali_uid) else None,
    }


def start(app: Flask):
    def started() -> None:
        logs.clear()
        g.request_started = time.perf_counter()
        g.request_id = _incoming_id(app) or uuid.uuid4().hex
        logs.bind(request_id=g.request_id)
        if request.path == "/spi":
            logs.bind(**_spi_context())

    return started


def _who() -> dict:
    """The signed-in customer (Flask-Login's id) or operator, from the session (no query)."""
    if getattr(session, "unavailable", False):
        return {}
    return {"account_id": session.get("_user_id"), "operator": session.get("ops_username")}


def finish(response):
    started = g.pop("request_started", None)
    duration = time.perf_counter() - started if started is not None else 0.0
    rule = request.url_rule.rule if request.url_rule is not None else None
    if g.get("request_id"):
        response.headers[HEADER] = g.request_id
    if rule != "/static/<path:filename>":
        metrics.observe_request(rule, request.method, response.status_code, duration)
        logs.bind(**_who())
        log.info(
            "request",
            method=request.method,
            path=request.path,
            endpoint=rule,
            status=response.status_code,
            duration_ms=round(duration * 1000, 2),
            remote_addr=request.remote_addr,
        )
    return response


def register(app: Flask) -> None:
    # First of all: even a request refused before any view (400, 503) gets an id and a line.
    app.before_request_funcs.setdefault(None, []).insert(0, start(app))
    app.after_request(finish)
    app.context_processor(lambda: {"request_id": request_id()})
