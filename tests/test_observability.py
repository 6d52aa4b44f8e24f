"""Observable: a request id on every answer and error page, one JSON log line per request that never
holds a secret, Prometheus metrics (served to loopback or a bearer token), /healthz and /readyz."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.exc import OperationalError

from devtools.customer import Browser, Customer
from wizard import create_app
from wizard.observability import metrics

from .activation import ACME, PASSWORD, add_billing_account, workspace_id
from .conftest import settings_for_tests
from .helpers import csrf_token, submit, text_of
from .marketplace import call_spi, create_instance, login_free_url
from .ops_support import OPERATOR_PASSWORD, add_operator, code_now, enter_code, enter_password


def log_lines(captured: str) -> list[dict]:
    lines = []
    for line in captured.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


# ---- Request ids and the request log ----


def test_every_answer_has_a_request_id_that_error_pages_show(client):
    ids = {client.get(path).headers["X-Request-Id"] for path in ("/", "/nowhere", "/healthz")}
    assert len(ids) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    missing = client.get("/nowhere")
    assert f"请求编号：{missing.headers['X-Request-Id']}" in text_of(missing)


def test_an_incoming_request_id_is_kept_only_behind_a_trusted_proxy(app, client):
    offered = {"X-Request-Id": "lb-4f2a9c1e-0001"}
    assert client.get("/", headers=offered).headers["X-Request-Id"] != "lb-4f2a9c1e-0001"
    app.config["PROXY_COUNT"] = 1
    assert client.get("/", headers=offered).headers["X-Request-Id"] == "lb-4f2a9c1e-0001"
    odd = client.get("/", headers={"X-Request-Id": "<script>alert(1)</script>"}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


def test_one_json_line_per_request_with_the_instance_and_account_where_known(app, client, capsys):
    instance_id = create_instance(client, app)
    client.get(login_free_url(app, instance_id))
    response = client.get("/activate/")
    lines = log_lines(capsys.readouterr().err)
    requests = [line for line in lines if line["event"] == "request"]
    assert [line["path"] for line in requests] == ["/spi", "/spi", "/activate/"]
    page = requests[-1]
    assert page["request_id"] == response.headers["X-Request-Id"] and page["status"] == 200
    assert page["instance_id"] == instance_id and page["ali_uid"] == "1380000000000001"
    assert page["level"] == "info" and page["timestamp"].endswith("Z") and page["duration_ms"] >= 0
    assert requests[0]["spi_action"] == "createInstance" and requests[0]["instance_id"] == instance_id
    assert "query" not in json.dumps(requests) and "token" not in json.dumps(requests)
    spi = [line for line in lines if line["event"] == "spi call"]
    assert [(line["spi_action"], line["outcome"]) for line in spi] == [("createInstance", "ok"), ("verify", "ok")]


def test_no_password_code_token_or_session_ever_reaches_the_log(app, client, db, smtp, capsys, frozen_clock):
    """A whole activation with codes, a customer login and an operator's sign-in, logged at DEBUG."""
    app.config["LOG_LEVEL"] = "DEBUG"
    import logging

    logging.getLogger().setLevel(logging.DEBUG)
    add_billing_account()
    instance_id = create_instance(client, app)
    link = login_free_url(app, instance_id)
    spi_token = re.search(r"token=([0-9a-f]{32})", link).group(1)
    client.get(link)
    client.get("/activate/")
    submit(client, "/activate/", {"path": "bind"})
    Customer(Browser.of(client), smtp).bind_billing(*ACME)
    code = smtp.last_code("billing@acme.example")
    Customer(Browser.of(client), smtp).bind_workspace(workspace_id("生产环境"))
    csrf = csrf_token(client.get("/login/pwd").data)
    client.post("/login/pwd", data={"csrf_token": csrf, "site": "cn1", "username": "acme_owner", "password": PASSWORD})
    client.post("/login/pwd", data={"csrf_token": csrf, "site": "cn1", "username": "acme_owner", "password": "Wrong-1"})
    session_id = client.get_cookie("guance_session").value
    add_operator(app)
    operator = app.test_client()
    enter_password(operator)
    totp = code_now()
    enter_code(operator, totp)
    logged = capsys.readouterr().err
    assert log_lines(logged)  # something was logged
    for secret in (PASSWORD, "Wrong-1", OPERATOR_PASSWORD, code, totp, spi_token, session_id, csrf):
        assert secret not in logged, secret


def test_secret_looking_values_are_redacted_whatever_a_caller_logs(app, capsys):
    from wizard.observability import logs

    with app.app_context():
        logs.get_logger("wizard.test").warning(
            "leak token=abc123 password: hunter2", csrf_token="t0k3n", password="p", status_code=200,
            details={"totp": "123456", "note": "ok"}
        )  # fmt: skip
        app.logger.error("stdlib too: Authorization: Bearer s3cr3t [parameters: ('123456',)]")
    logged = capsys.readouterr().err
    for secret in ("abc123", "hunter2", "t0k3n", '"p"', "123456", "s3cr3t"):
        assert secret not in logged, secret
    first = log_lines(logged)[0]
    assert first["status_code"] == 200 and first["details"]["note"] == "ok"


# ---- Metrics ----


def sample(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = line[len(name) + 1 : line.index("}")]
            if ",".join(sorted(found.split(","))) == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return text_of(response)


def test_metrics_count_spi_calls_login_free_codes_funnel_steps_and_requests(app, client, db, smtp):
    add_billing_account()
    before = scrape(client)
    instance_id = create_instance(client, app)
    client.get(login_free_url(app, instance_id))
    client.get(login_free_url(app, "nope"))
    call_spi(client, app, action="noSuchAction", instanceId=instance_id)
    submit(client, "/activate/", {"path": "bind"})
    Customer(Browser.of(client), smtp).bind_billing(*ACME)
    after = scrape(client)

    def grew(name, **labels) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("guance_spi_calls_total", action="createInstance", outcome="ok") == 1
    assert grew("guance_spi_calls_total", action="other", outcome="UnknownAction") == 1  # no new label value
    assert grew("guance_login_free_total", outcome="ok") == 1
    assert grew("guance_login_free_total", outcome="unknown_instance") == 1
    assert grew("guance_codes_sent_total", purpose="bind_billing") == 1
    assert grew("guance_codes_checked_total", purpose="bind_billing", result="ok") == 1
    assert grew("guance_funnel_steps_total", step="bind_billing") == 1
    assert grew("guance_http_request_duration_seconds_count", endpoint="/spi", method="GET", status="200") == 1
    assert grew("guance_http_request_duration_seconds_count", endpoint="/spi", method="GET", status="302") == 1
    assert 'guance_queue_tasks{state="failed"} 0.0' in after


def test_metrics_answer_loopback_only_unless_a_bearer_token_is_set(app, client):
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base=remote).status_code == 404
    app.config["METRICS_TOKEN"] = "scrape-me-0123456789"
    assert client.get("/metrics").status_code == 404  # the token is needed from loopback too
    bearer = {"Authorization": "Bearer scrape-me-0123456789"}
    assert client.get("/metrics", environ_base=remote, headers=bearer).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404


def test_labels_never_take_a_stranger_s_values():
    assert metrics.known_action("x" * 500) == "other"
    assert metrics.bounded("Drop table;--") == "other" and metrics.bounded("out_of_order") == "out_of_order"


# ---- Health ----


def test_healthz_and_readyz_answer_when_everything_is_up(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {
        "status": "ready", "checks": {"database": "ok", "queue": "ok"}
    }  # fmt: skip


def test_readyz_names_the_database_when_it_is_down(app, client, monkeypatch):
    from wizard.observability import health

    def down():
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    monkeypatch.setattr(health, "_database", down)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["failing"] == ["database"]
    assert "refused" not in text_of(ready)  # which part, never why
    assert client.get("/healthz").status_code == 200  # the process itself is alive


def test_readyz_names_the_queue_and_redis_when_they_are_down(database, smtp_server, redis_server):
    down = settings_for_tests(database, smtp_server, REDIS_URL="redis://127.0.0.1:1/0", QUEUE_IMMEDIATE=False)
    app = create_app(down)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "ok", "queue": "unavailable", "redis": "unavailable"}
    app = create_app(settings_for_tests(database, smtp_server, REDIS_URL=redis_server.url, QUEUE_IMMEDIATE=False))
    assert app.test_client().get("/readyz").status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz"])
def test_the_operational_endpoints_carry_the_security_headers(client, path):
    from wizard.security import SECURITY_HEADERS

    response = client.get(path)
    assert all(response.headers[name] == value for name, value in SECURITY_HEADERS.items())
