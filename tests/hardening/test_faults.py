"""4. Faults: the SMTP server down or silent, PostgreSQL stopped and restarted mid-flow, the SPI out of reach.

Each fault must give a clear answer (a message on the page, the styled 503, or JSON for scripts),
never a 500 or a stack trace, leave nothing half-written, and let the customer carry on once the
fault is gone.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from sqlalchemy import select

from devtools.customer import Browser
from devtools.pgcluster import PostgresCluster
from devtools.ports import free_port
from marketplace.extensions import db as _market_db
from marketplace.models import MarketOrder
from wizard.extensions import db as _db
from wizard.models import MarketplaceInstance
from wizard.services import registration

from ..conftest import migrate_database, start_postgres
from ..marketplace import login_free_url, order_params, signed_query
from ..queue_support import break_queue, run_scheduled
from .conftest import build_app, build_market, dispose
from .states import NEW_PASSWORD, Flow
from .support import (
    assert_clean,
    assert_consistent,
    assert_security_headers,
    assert_styled_error,
    changed_tables,
    row_counts,
)
from .tally import TALLY

pytestmark = pytest.mark.hardening
CATEGORY = "faults"
SEND_FAILED = "验证码发送失败，请稍后重试"


# ---- SMTP down, SMTP silent: 获取验证码 on the real pages ----


@pytest.fixture
def mail_app(database, sink):
    # Every page below sends twice (refused, then again) from one wizard login: not the per-login cap's test.
    app = build_app(database, sink, CODE_SENDS_PER_SESSION_PER_HOUR=100)
    yield app
    dispose(app)


def mail_pages(flow: Flow) -> list[tuple]:
    """(page, arranged state, identifier field, identifier, the fields typed before 获取验证码, kept fields)."""
    unbound, bound = flow.unbound(), flow.bound(workspaces=())
    owner = flow.guance_account()
    basic = flow.basic_info(flow.serial())
    billing = flow.billing_account(workspaces=())
    registering = {
        "name": "新空间",
        "language": "zh",
        "username": "newbie",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "phone": "13800138000",
        "agreement": "y",
    }
    return [
        ("/register/basic", unbound, "email", basic["email"], basic, ("username", "email", "phone")),
        ("/bind/billing", unbound, "username", billing["username"], {}, ("username",)),
        ("/bind/billing", unbound, "username", "nobody_at_all", {}, ("username",)),  # the same answer
        (
            "/workspace/new?tab=existing",
            bound,
            "email",
            owner["email"],
            {"name": "新空间", "style": "ops"},
            ("name", "email"),
        ),
        (
            "/workspace/new?tab=register",
            bound,
            "email",
            "newbie@acme.example",
            registering,
            ("name", "username", "email", "phone"),
        ),
    ]


@pytest.mark.parametrize("fault", ["down", "silent"])
def test_mail_down_or_silent_the_page_says_sent_keeps_the_input_and_the_code_arrives_once_it_is_back(
    mail_app, sink, silent_smtp_port, fault
):
    """The mail leaves the request: the page answers as usual and the queue retries until the server is back."""
    flow = Flow(mail_app, sink)
    mail = mail_app.extensions["mail"]
    for page, arranged, source, identifier, typed, kept in mail_pages(flow):
        with TALLY.case(CATEGORY):
            arranged.reset()
            mail.port = free_port() if fault == "down" else silent_smtp_port
            mail_app.config["MAIL_TIMEOUT"] = 0.5
            sent = len(sink.messages())
            started = time.monotonic()
            answer = arranged.browser.submit(page, {**typed, source: identifier, "send_code": "1"})
            assert time.monotonic() - started < 5, "a silent server must not hang the page"
            assert_clean(answer, allowed_statuses={200})
            assert answer.code_status.state == "ok", (page, answer.code_status)
            for name in kept:
                assert answer.value(name) == {**typed, source: identifier}[name], (page, name)
            assert not answer.value("password") and not answer.value("code")
            assert len(sink.messages()) == sent
            # The server is back: the retry mails the code, once (nothing for an unknown username).
            mail.port, mail_app.config["MAIL_TIMEOUT"] = sink.port, 5.0
            assert run_scheduled(mail_app) == 1, page
            assert len(sink.messages()) == sent + (identifier != "nobody_at_all"), page
            assert run_scheduled(mail_app) == 0
            assert_consistent(mail_app)


def test_the_queue_down_answers_the_json_endpoint_with_503_and_its_message(mail_app, sink):
    flow = Flow(mail_app, sink)
    arranged = flow.unbound()
    break_queue(mail_app)
    for purpose, identifier in (("register", "ops@corp.example"), ("bind_billing", "nobody_at_all")):
        with TALLY.case(CATEGORY):
            before = row_counts(mail_app)
            response = arranged.client.post(
                "/codes/send",
                data={"purpose": purpose, "identifier": identifier},
                headers={"X-CSRFToken": arranged.token},
            )
            assert response.status_code == 503
            assert response.get_json() == {"ok": False, "message": SEND_FAILED, "retry_after": None}
            assert changed_tables(before, row_counts(mail_app)) == {}  # no cooldown started, nothing half-sent


# ---- PostgreSQL stopped and started again in the middle of a flow ----


@pytest.fixture(scope="module")
def own_cluster():
    """A PostgreSQL of this module's own: stopping it disturbs no other test."""
    cluster = start_postgres()
    yield cluster
    cluster.stop()


def stop(cluster: PostgresCluster) -> None:
    """Stop the server at once (pg_ctl -m immediate: a crash). The throwaway cluster runs without
    durability for speed (fsync and synchronous_commit off), so a checkpoint first makes durable what
    was committed, as a production server does at every commit; open transactions are lost."""
    cluster.execute("CHECKPOINT")
    cluster.pg_ctl("stop")


@pytest.fixture
def outage_app(own_cluster, sink):
    name = f"faults_{uuid.uuid4().hex[:8]}"
    url = own_cluster.create_database(name)
    migrate_database(url)
    app = build_app(url, sink)
    yield app
    dispose(app)
    own_cluster.drop_database(name)


def while_down(app, client, token: str) -> list[tuple[str, object, set]]:
    """What a customer (and the marketplace) may do while the database is down, and what may answer."""
    spi_call = "/spi?" + signed_query(app, **order_params("1380000000000077"))
    return [
        ("home page", lambda: client.get("/"), {200}),
        ("a static file", lambda: client.get("/static/css/app.css"), {200}),
        ("the login page", lambda: client.get("/login/pwd"), {200}),
        (  # its CSRF token lives in the server-side session, which is in the database too
            "the language switch",
            lambda: client.post("/language", data={"lang": "zh", "csrf_token": token, "next": "/register/company"}),
            {503},
        ),
        ("R2, opened", lambda: client.get("/register/company"), {503}),
        (
            "R2, sent",
            lambda: client.post(
                "/register/company", data={"company_name": "测试公司", "agreement": "y", "csrf_token": token}
            ),
            {503},
        ),
        ("R1", lambda: client.get("/register/basic"), {503}),
        ("G1", lambda: client.get("/activate/"), {503}),
        ("B1", lambda: client.get("/bind/billing"), {503}),
        ("S1", lambda: client.get("/activate/success"), {503}),
        (
            "a login",
            lambda: client.post(
                "/login/pwd", data={"site": "cn1", "username": "someone", "password": "Passw0rd1", "csrf_token": token}
            ),
            {503},
        ),
        (
            "获取验证码 (JSON)",
            lambda: client.post(
                "/codes/send",
                data={"purpose": "register", "identifier": "ops@corp.example"},
                headers={"X-CSRFToken": token},
            ),
            {503},
        ),
        ("the SPI", lambda: client.get(spi_call), {503}),
        ("免登", lambda: client.get(login_free_url(app, "biz-anything")), {503}),
        ("the development mailbox", lambda: client.get("/dev/mail/"), {200}),
    ]


def check_outage_answer(label: str, response, statuses: set) -> None:
    assert response.status_code in statuses, (label, response.status_code)
    body = assert_clean(response, allowed_statuses=statuses)
    assert_security_headers(response)
    if response.status_code != 503:
        return
    if response.is_json:
        answer = response.get_json()
        assert answer.get("ok") is False or answer.get("code") == "ServiceUnavailable", (label, answer)
    else:
        assert_styled_error(response, 503, "服务暂时不可用")
        assert "请稍候片刻后重试" in body, label


@pytest.mark.postgres
def test_postgresql_stopped_mid_flow_gives_503_and_the_customer_carries_on(outage_app, own_cluster, sink):
    flow = Flow(outage_app, sink)
    arranged = flow.register_company()  # R1 done: the draft waits for R2
    client, token = arranged.client, arranged.token
    before = row_counts(outage_app)
    stop(own_cluster)
    try:
        for label, request, statuses in while_down(outage_app, client, token):
            with TALLY.case(CATEGORY):
                check_outage_answer(label, request(), statuses)
    finally:
        own_cluster.pg_ctl("start")
    with TALLY.case(CATEGORY):  # nothing was written meanwhile, and the same browser finishes the activation
        assert row_counts(outage_app) == before
        browser = Browser.of(client)
        response = browser.submit("/register/company", {"company_name": "测试公司", "agreement": "y"})
        assert response.location == "/register/activation"
        response = browser.submit(
            "/register/activation",
            {
                "method": "aliyun",
                "workspace_name": "生产环境",
                "workspace_language": "zh",
                "workspace_style": "ops",
                "create_billing_account": "y",
                "agreement": "y",
            },
        )
        assert response.location == "/activate/success"
        assert browser.get("/activate/success").title == "开通成功"
        login = {"site": "cn1", "username": arranged.context["username"], "password": NEW_PASSWORD}
        assert browser.submit("/login/pwd", login).location == "/console/"
        assert "生产环境" in browser.get("/console/").text
        assert_consistent(outage_app)


@pytest.mark.postgres
def test_postgresql_stopped_inside_a_step_leaves_nothing_of_it(outage_app, own_cluster, sink, monkeypatch):
    """R3 writes four tables in one transaction; the database stops after the workspace is written."""
    flow = Flow(outage_app, sink)
    arranged = flow.register_activation()
    data = {
        "method": "aliyun",
        "workspace_name": "生产环境",
        "workspace_language": "zh",
        "workspace_style": "ops",
        "create_billing_account": "y",
        "agreement": "y",
    }
    real_add_workspace = registration.add_workspace

    def add_workspace_then_stop(*args, **kwargs):
        workspace = real_add_workspace(*args, **kwargs)  # written, not yet committed
        stop(own_cluster)
        return workspace

    before = row_counts(outage_app)
    monkeypatch.setattr(registration, "add_workspace", add_workspace_then_stop)
    try:
        with TALLY.case(CATEGORY):
            response = arranged.browser.submit("/register/activation", data).raw
            check_outage_answer("R3 cut short", response, {503})
    finally:
        monkeypatch.undo()
        own_cluster.pg_ctl("start")
    with TALLY.case(CATEGORY):
        assert row_counts(outage_app) == before  # no account, binding or workspace half-made
        assert arranged.browser.submit("/register/activation", data).location == "/activate/success"
        assert_consistent(outage_app)


# ---- The SPI out of the marketplace's reach ----


def failing_transports(app) -> dict[str, httpx.BaseTransport]:
    """Ways the Guance side can fail the marketplace's createInstance."""
    real = httpx.WSGITransport(app=app)

    def answered_but_lost(request):
        real.handle_request(request)  # the Guance side did create the instance...
        raise httpx.ReadTimeout("the answer never arrived", request=request)  # ...the marketplace never heard

    return {
        "connection refused": httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused"))),
        "timeout": httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r))),
        "503 in JSON": httpx.MockTransport(
            lambda r: httpx.Response(503, json={"success": False, "code": "ServiceUnavailable"})
        ),
        "500 in HTML": httpx.MockTransport(lambda r: httpx.Response(500, text="<h1>Internal Server Error</h1>")),
        "answered, but the answer lost": httpx.MockTransport(answered_but_lost),
    }


def order_of(market, order_id: str) -> MarketOrder:
    with market.app_context():
        order = _market_db.session.scalar(select(MarketOrder).filter_by(order_id=order_id))
        _market_db.session.expunge_all()
        _market_db.session.remove()
        return order


def instances_for(app, order_biz_id: str) -> int:
    with app.app_context():
        try:
            return len(_db.session.scalars(select(MarketplaceInstance).filter_by(instance_id=order_biz_id)).all())
        finally:
            _db.session.remove()


@pytest.fixture
def market_pair(database, sink, tmp_path):
    """The Guance side and, in another application with its own database, the simulator facing it."""
    app = build_app(database, sink)
    market = build_market(app, tmp_path)
    yield app, market
    dispose(market)
    dispose(app)


@pytest.mark.parametrize(
    "failure",
    ["connection refused", "timeout", "503 in JSON", "500 in HTML", "answered, but the answer lost", "a silent server"],
)
def test_an_unreachable_spi_leaves_the_order_opening_and_it_is_retried_until_it_succeeds(
    market_pair, sink, silent_smtp_port, failure
):
    app, market = market_pair
    working = market.config["SPI_TRANSPORT"]
    if failure == "a silent server":  # a real socket that never answers: the simulator's timeout ends the wait
        market.config.update(SPI_TRANSPORT=None, SPI_URL=f"http://127.0.0.1:{silent_smtp_port}/spi", SPI_TIMEOUT=0.5)
    else:
        market.config["SPI_TRANSPORT"] = failing_transports(app)[failure]
    client = market.test_client()
    buyer = Browser.of(client)
    buyer.get("/?aliUid=1380000000000066")
    with TALLY.case(CATEGORY):
        started = time.monotonic()
        bought = buyer.submit("/activate", {"agreement": "y"})
        assert time.monotonic() - started < 5
        assert bought.status == 302
        order_id = bought.location.split("/")[-2]
        assert "开通申请已提交" in assert_clean(client.get(bought.location))
        page = assert_clean(client.get("/instances"))
        assert "开通中" in page and "重试开通" in page and "自动重试" in page
        order = order_of(market, order_id)
        assert order.status == "pending" and order.instance_id is None and order.last_error
        retried = buyer.submit("/instances", action=f"/orders/{order_id}/retry")
        assert "观测云暂时无法受理开通请求" in buyer.follow(retried).flashed()
        assert order_of(market, order_id).status == "pending"
    with TALLY.case(CATEGORY):  # the Guance side answers again: the worker's next retry opens it, once
        market.config.update(SPI_TRANSPORT=working, SPI_URL="http://localhost/spi", SPI_TIMEOUT=5.0)
        with market.app_context():
            from marketplace import orders

            due = order_of(market, order_id).next_attempt_at
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("marketplace.clock.now", lambda: due)
                assert orders.retry_due() == 1
        page = assert_clean(client.get("/instances"))
        order = order_of(market, order_id)
        assert order.status == "active" and "已开通" in page
        assert instances_for(app, order.order_biz_id) == 1
        entry = client.get(f"/instances/{order_id}/login-free")
        assert app.test_client().get(entry.headers["Location"]).headers["Location"] == "/activate/"
        assert_consistent(app, market)


def test_an_answer_without_an_instance_fails_the_order_for_good_with_its_reason(market_pair):
    """Not a fault that passes: an answer the marketplace cannot use is 开通失败, shown, never retried."""
    app, market = market_pair
    market.config["SPI_TRANSPORT"] = httpx.MockTransport(lambda r: httpx.Response(200, json={"appInfo": {}}))
    client = market.test_client()
    buyer = Browser.of(client)
    buyer.get("/?aliUid=1380000000000064")
    with TALLY.case(CATEGORY):
        order_id = buyer.submit("/activate", {"agreement": "y"}).location.split("/")[-2]
        page = assert_clean(client.get("/instances"))
        order = order_of(market, order_id)
        assert order.status == "failed" and order.provision_attempts == 1 and "instanceId" in order.last_error
        assert "开通失败" in page and "免登" not in page and "重试开通" not in page
        assert_consistent(app, market)


def test_lifecycle_calls_the_guance_side_cannot_take_change_nothing(market_pair, sink):
    app, market = market_pair
    buyer = Browser.of(market.test_client())
    buyer.get("/?aliUid=1380000000000065")
    order_id = buyer.submit("/activate", {"agreement": "y"}).location.split("/")[-2]
    working = market.config["SPI_TRANSPORT"]
    market.config["SPI_TRANSPORT"] = failing_transports(app)["connection refused"]
    for operation in ("release", "renew", "upgrade", "expire"):
        with TALLY.case(CATEGORY):
            before = order_of(market, order_id)
            response = buyer.submit("/instances", action=f"/instances/{order_id}/{operation}")
            assert "观测云暂时无法处理该请求" in buyer.follow(response).flashed()
            after = order_of(market, order_id)
            assert (after.status, after.sku_id, after.expires_at) == (before.status, before.sku_id, before.expires_at)
    market.config["SPI_TRANSPORT"] = working
    with TALLY.case(CATEGORY):
        buyer.submit("/instances", action=f"/instances/{order_id}/release")
        assert order_of(market, order_id).status == "released"
