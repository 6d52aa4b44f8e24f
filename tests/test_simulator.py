"""The marketplace simulator, another application: buy, see the instance, 免登, close, the lifecycle menu,
and what it refuses to trust."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import select

from devtools.customer import Browser
from marketplace import create_app as create_marketplace
from marketplace.extensions import db as market_db
from marketplace.models import Buyer, MarketOrder
from protocol import spi
from wizard.extensions import db as guance_db
from wizard.models import MarketplaceInstance

from .conftest import marketplace_settings

ROOT = Path(__file__).resolve().parent.parent
BUYER = "1380000000000007"


def sign_in(client, ali_uid: str = BUYER) -> str:
    """The simulator signed in as an Aliyun account through ?aliUid= (created if new)."""
    response = client.get(f"/?aliUid={ali_uid}")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return ali_uid


def buy(client):
    """立即开通 with the agreement ticked: the redirect to the order's page."""
    return Browser.of(client).submit("/activate", {"agreement": "y"}).expect(302)


def orders(market) -> list[MarketOrder]:
    with market.app_context():
        found = list(market_db.session.scalars(select(MarketOrder).order_by(MarketOrder.id)))
        market_db.session.expunge_all()
        return found


def the_order(market) -> MarketOrder | None:
    found = orders(market)
    return found[-1] if found else None


@pytest.fixture
def buyer(market_client):
    return sign_in(market_client)


# ---- Who is buying ----


def test_aliuid_in_the_url_signs_in_and_creates_the_account(market, market_client, buyer):
    with market.app_context():
        assert market_db.session.scalar(select(Buyer.ali_uid)) == BUYER
    assert f"当前阿里云账号 ID：{BUYER}" in Browser.of(market_client).get("/").text


def test_aliuid_signs_in_on_any_page_and_the_page_shows_that_account(market_client):
    response = market_client.get(f"/instances?aliUid={BUYER}")
    assert response.headers["Location"] == "/instances"
    assert f"阿里云账号 ID：{BUYER}" in Browser.of(market_client).get("/instances").text


def test_aliuid_of_another_account_switches_the_buyer_and_says_so(market_client):
    market_client.get(f"/?aliUid={BUYER}")
    other = "1380000000000777"
    buyer = Browser.of(market_client)
    page = buyer.get(f"/instances?aliUid={other}", follow=True)
    assert f"阿里云账号 ID：{other}" in page.text and f"已切换到阿里云账号 {other}（原账号 {BUYER}）" in page.text
    assert "已切换" not in buyer.get(f"/instances?aliUid={other}", follow=True).text


def test_a_malformed_aliuid_is_refused_with_a_message(market, market_client):
    response = Browser.of(market_client).get("/?aliUid=12ab", follow=True)
    assert "阿里云账号 ID 只能由数字组成" in response.flashed("error")
    with market.app_context():
        assert market_db.session.scalar(select(Buyer)) is None


def test_the_picker_signs_in_as_a_typed_account_and_returns_where_it_was(market_client):
    response = Browser.of(market_client).submit("/signin?next=/instances", {"ali_uid": BUYER, "next": "/instances"})
    assert response.headers["Location"] == "/instances"
    assert f"阿里云账号 ID：{BUYER}" in Browser.of(market_client).get("/instances").text
    refused = Browser.of(market_client).submit("/signin", {"ali_uid": "0123"})
    assert refused.status == 400 and "只能由数字组成" in refused.error("ali_uid")
    escaped = Browser.of(market_client).submit("/signin", {"ali_uid": BUYER, "next": "//evil.example/"})
    assert escaped.headers["Location"] == "/"


def test_signing_out_leaves_no_buyer(market_client, buyer):
    Browser.of(market_client).submit("/", action="/signout")
    assert market_client.get("/instances").status_code == 302


def test_product_page_and_dialogs_use_the_documented_labels(market_client, buyer):
    assert "立即开通" in Browser.of(market_client).get("/").text
    dialog = Browser.of(market_client).get("/activate")
    assert "开通按量服务" in dialog.text and "按量付费" in dialog.text
    assert dialog.find("[role=dialog] form input[type=submit][value=开通]")


def test_the_front_page_links_to_the_guance_side(market_client):
    assert "http://localhost/" in Browser.of(market_client).get("/").links()


# ---- Buying and 免登 ----


def test_without_the_agreement_there_is_a_message_and_no_order(market, market_client, buyer):
    response = Browser.of(market_client).submit("/activate", {})
    assert response.status == 400
    assert "请先阅读并同意服务协议" in response.error("agreement")
    assert the_order(market) is None


def test_buying_creates_the_order_and_the_instance_on_the_guance_side(market, market_client, db, buyer):
    response = buy(market_client)
    order = the_order(market)
    assert response.headers["Location"] == f"/orders/{order.order_id}/submitted"
    assert "开通申请已提交" in Browser.of(market_client).get(response.headers["Location"]).text
    assert order.status == "active" and order.instance_id == order.order_biz_id
    instance = db.session.scalar(select(MarketplaceInstance))
    assert (instance.instance_id, instance.ali_uid) == (order.instance_id, BUYER)


def test_purchased_services_lists_the_instance_with_login_free_and_close(market, market_client, buyer):
    buy(market_client)
    page = Browser.of(market_client).get("/instances").text
    assert the_order(market).instance_id in page and "已开通" in page and "免登" in page and "关闭" in page


def test_login_free_crosses_to_the_guance_origin_with_nothing_but_the_signed_url(market, market_client, app, buyer):
    buy(market_client)
    order = the_order(market)
    location = market_client.get(f"/instances/{order.order_id}/login-free").headers["Location"]
    url = urlsplit(location)
    params = dict(parse_qsl(url.query))
    assert f"{url.scheme}://{url.netloc}{url.path}" == order.auth_url == "http://localhost/spi"
    assert params["action"] == "verify" and params["instanceId"] == order.instance_id
    assert spi.is_valid(params, app.config["ISV_KEY"])
    guance = app.test_client()  # another site: the browser brings none of the simulator's cookies
    assert guance.get(f"{url.path}?{url.query}").headers["Location"] == "/activate/"


def test_another_account_cannot_use_my_instance(market, market_client, buyer):
    buy(market_client)
    order = the_order(market)
    sign_in(market_client, "1380000000000008")
    assert market_client.get(f"/instances/{order.order_id}/login-free").status_code == 404
    assert Browser.of(market_client).submit("/instances", action=f"/instances/{order.order_id}/expire").status == 404


def test_close_asks_for_confirmation_then_releases(market, market_client, db, buyer):
    buy(market_client)
    order = the_order(market)
    dialog = Browser.of(market_client).get(f"/instances?release={order.order_id}").text
    assert "确定关闭实例" in dialog
    Browser.of(market_client).submit("/instances", action=f"/instances/{order.order_id}/release")
    assert the_order(market).status == "released"
    assert db.session.scalar(select(MarketplaceInstance.status)) == "released"
    assert "已关闭" in Browser.of(market_client).get("/instances").text


@pytest.mark.parametrize(
    "operation, order_status, instance_status",
    [("expire", "expired", "expired"), ("renew", "active", "active"), ("upgrade", "active", "active")],
)
def test_the_simulation_menu_drives_the_lifecycle(market, market_client, db, buyer, operation, order_status,
                                                  instance_status):  # fmt: skip
    buy(market_client)
    before = the_order(market)
    Browser.of(market_client).submit("/instances", action=f"/instances/{before.order_id}/{operation}")
    order = the_order(market)
    db.session.expire_all()
    instance = db.session.scalar(select(MarketplaceInstance))
    assert (order.status, instance.status) == (order_status, instance_status)
    if operation == "renew":
        assert order.expires_at is not None and instance.expires_at == order.expires_at  # a renewal opens a term
    if operation == "upgrade":
        assert order.sku_id != before.sku_id and instance.sku_id == order.sku_id


def test_the_isvs_renewal_link_points_at_the_instance_to_renew(market, market_client, db, buyer):
    buy(market_client)
    order = the_order(market)
    Browser.of(market_client).submit("/instances", action=f"/instances/{order.order_id}/expire")
    page = Browser.of(market_client).get(f"/instances?instanceId={order.instance_id}")
    assert f"续费实例 {order.instance_id}" in page.text and "续费成功后，工作空间立即解锁" in page.text
    assert page.find(f"tr.row-target[data-order='{order.order_id}']")
    Browser.of(market_client).submit("/instances", action=f"/instances/{order.order_id}/renew")
    db.session.expire_all()
    assert db.session.scalar(select(MarketplaceInstance.status)) == "active"
    # Another buyer's instance, or none, points at nothing.
    sign_in(market_client, "1380000000000008")
    assert "续费实例" not in Browser.of(market_client).get(f"/instances?instanceId={order.instance_id}").text


def test_an_early_expiry_is_simulated_only_before_a_renewal(market, market_client, db, buyer):
    """Alibaba Cloud expires a renewed term by its date; the ISV ignores an early expiredInstance then
    (it could be a replay), so the simulator does not offer one."""
    buy(market_client)
    order = the_order(market)
    Browser.of(market_client).submit("/instances", action=f"/instances/{order.order_id}/renew")
    assert "已续费：到期时间后自动到期" in Browser.of(market_client).get("/instances").text
    page = Browser.of(market_client).submit("/instances", action=f"/instances/{order.order_id}/expire", follow=True)
    assert "不能再模拟提前到期" in page.flashed()
    assert the_order(market).status == "active"
    db.session.expire_all()
    assert db.session.scalar(select(MarketplaceInstance.status)) == "active"


# ---- When the ISV does not answer, or answers what cannot be trusted ----


def unreachable(market) -> None:
    market.config["SPI_TRANSPORT"], market.config["SPI_URL"] = None, "http://127.0.0.1:9/spi"  # nothing listens


@pytest.fixture
def market_clock(monkeypatch):
    """The simulator's clock, standing still until a test moves it."""
    from marketplace import clock

    moment = [clock.now()]
    monkeypatch.setattr(clock, "now", lambda: moment[0])
    return moment


def retry_due(market) -> str:
    """What the simulator's worker does every minute, run by hand."""
    result = market.test_cli_runner().invoke(args=["queue", "run"])
    assert result.exit_code == 0, result.output
    return result.stdout  # (the SPI calls it makes log JSON lines on stderr)


def test_an_unreachable_spi_leaves_the_order_pending_and_the_worker_retries_it(market, market_client, app, buyer,
                                                                               market_clock):  # fmt: skip
    unreachable(market)
    buy(market_client)
    order = the_order(market)
    assert order.status == "pending" and order.instance_id is None and "unreachable" in order.last_error
    page = Browser.of(market_client).get("/instances").text
    assert "开通中" in page and "免登" not in page and "重试开通" in page and "自动重试" in page
    with app.app_context():
        assert guance_db.session.scalar(select(MarketplaceInstance)) is None

    market.config["SPI_TRANSPORT"], market.config["SPI_URL"] = httpx.WSGITransport(app=app), "http://localhost/spi"
    assert retry_due(market) == "Retried 0 orders.\n"  # not yet due: the first retry waits 30 s
    market_clock[0] += timedelta(seconds=30)
    assert retry_due(market) == "Retried 1 orders.\n"
    assert the_order(market).status == "active" and "已开通" in Browser.of(market_client).get("/instances").text


def test_the_retry_button_provisions_a_pending_order(market, market_client, app, buyer):
    unreachable(market)
    buy(market_client)
    order = the_order(market)
    market.config["SPI_TRANSPORT"], market.config["SPI_URL"] = httpx.WSGITransport(app=app), "http://localhost/spi"
    Browser.of(market_client).submit("/", action=f"/orders/{order.order_id}/retry")
    assert the_order(market).status == "active"


def test_retries_back_off_and_an_order_never_answered_fails_with_the_reason(market, market_client, buyer,
                                                                            market_clock):  # fmt: skip
    from marketplace.orders import PROVISION_ATTEMPTS

    unreachable(market)
    buy(market_client)
    waits = []
    while the_order(market).status == "pending":
        order = the_order(market)
        waits.append(order.next_attempt_at - market_clock[0])
        market_clock[0] = order.next_attempt_at
        retry_due(market)
    assert [int(wait.total_seconds()) for wait in waits] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    order = the_order(market)
    assert order.status == "failed" and order.provision_attempts == PROVISION_ATTEMPTS
    assert f"no answer after {PROVISION_ATTEMPTS} attempts" in order.last_error
    page = Browser.of(market_client).get("/instances").text
    assert "开通失败" in page and "SPI unreachable" in page and "免登" not in page and "重试开通" not in page


def answering(body: dict, status: int = 200) -> httpx.MockTransport:
    """An SPI that answers every call with `body`."""
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def test_a_refusal_of_the_isv_fails_the_order_with_its_code(market, market_client, buyer):
    market.config["SPI_TRANSPORT"] = answering({"success": False, "code": "InvalidToken"}, 403)
    buy(market_client)
    order = the_order(market)
    assert order.status == "failed" and "InvalidToken" in order.last_error


# ---- Two parties, two applications ----


def imported_modules(package: str) -> set[str]:
    found = set()
    for source in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_the_two_applications_share_nothing_but_the_protocol():
    assert "wizard" not in imported_modules("marketplace")
    assert "marketplace" not in imported_modules("wizard")
    standard_library = {"__future__", "hashlib", "hmac", "re", "collections", "datetime", "zoneinfo"}
    assert imported_modules("protocol") <= standard_library


@pytest.mark.parametrize("profile", ["development", "testing", "production"])
def test_the_guance_application_has_no_simulator_route_in_any_profile(profile, monkeypatch, database):
    from wizard import create_app

    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("ISV_KEY", "a-production-isv-key")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://console.guance.example")
    guance = create_app({"APP_ENV": profile, "SQLALCHEMY_DATABASE_URI": database})
    rules = {rule.rule for rule in guance.url_map.iter_rules()}
    assert not [rule for rule in rules if rule.startswith(("/market", "/instances", "/signin", "/orders"))]
    client = guance.test_client()
    for path in ("/market/", "/market/instances", "/market/activate", "/market/?aliUid=1"):
        assert client.get(path).status_code == 404


def test_the_simulator_keeps_its_own_database_and_cookies(market, app):
    assert market.config["SQLALCHEMY_DATABASE_URI"] != app.config["SQLALCHEMY_DATABASE_URI"]
    assert market.config["SECRET_KEY"] != app.config["SECRET_KEY"]
    ours = {market.config[name] for name in ("SESSION_COOKIE_NAME", "BUYER_COOKIE", "LANGUAGE_COOKIE")}
    assert not ours & {app.config["SESSION_COOKIE_NAME"], "lang"}


def test_in_production_the_simulator_needs_its_own_secret(tmp_path):
    from marketplace.config import ConfigError

    with pytest.raises(ConfigError, match="MARKET_SECRET_KEY"):
        create_marketplace(marketplace_settings(f"sqlite:///{tmp_path / 'm.db'}", APP_ENV="production"))


@pytest.mark.parametrize("column", ["order_id", "order_biz_id", "instance_id"])
def test_the_simulators_orders_are_unique(market, column):
    from sqlalchemy.exc import IntegrityError

    def order(suffix: int) -> MarketOrder:
        values = {"order_id": f"o-{suffix}", "order_biz_id": f"b-{suffix}", "instance_id": f"i-{suffix}"}
        return MarketOrder(ali_uid=BUYER, product_code="p", sku_id="s", **(values | {column: "same"}))

    with market.app_context():
        market_db.session.add_all([Buyer(ali_uid=BUYER), order(1)])
        market_db.session.commit()
        market_db.session.add(order(2))
        with pytest.raises(IntegrityError):
            market_db.session.commit()
