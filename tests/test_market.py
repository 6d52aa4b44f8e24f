"""The marketplace simulator: buy, see the instance, 免登, close, and the lifecycle menu."""

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import select

from wizard import spi_token
from wizard.blueprints.market.models import MarketOrder, MarketUser
from wizard.models import MarketplaceInstance

from .helpers import submit, text_of

BUYER = "1380000000000007"


@pytest.fixture
def buyer(client):
    """The simulator signed in as a new Aliyun account, through ?aliUid=."""
    response = client.get(f"/market/?aliUid={BUYER}")
    assert response.status_code == 302
    return BUYER


def buy(client) -> MarketOrder:
    response = submit(client, "/market/activate", {"agreement": "y"})
    assert response.status_code == 302
    return response


def the_order(db) -> MarketOrder:
    db.session.expire_all()
    return db.session.scalar(select(MarketOrder))


def test_aliuid_in_the_url_signs_in_and_creates_the_account(client, db, buyer):
    assert db.session.scalar(select(MarketUser.ali_uid)) == BUYER
    assert f"当前阿里云账号 ID：{BUYER}" in text_of(client.get("/market/"))


def test_a_malformed_aliuid_is_refused_with_a_message(client, db):
    response = client.get("/market/?aliUid=12ab", follow_redirects=True)
    assert "阿里云账号 ID 只能由数字组成" in text_of(response)
    assert db.session.scalar(select(MarketUser)) is None


def test_the_switcher_changes_the_current_account(client, db, buyer):
    client.get("/market/?aliUid=1380000000000008")
    submit(client, "/market/", {"ali_uid": BUYER}, action="/market/buyer")
    assert f"当前阿里云账号 ID：{BUYER}" in text_of(client.get("/market/"))


def test_product_page_and_dialogs_use_the_documented_labels(client, buyer):
    assert "立即开通" in text_of(client.get("/market/"))
    dialog = text_of(client.get("/market/activate"))
    assert "开通按量服务" in dialog and "按量付费" in dialog and 'value="开通"' in dialog


def test_without_the_agreement_there_is_a_message_and_no_order(client, db, buyer):
    response = submit(client, "/market/activate", {})
    assert response.status_code == 400
    assert "请先阅读并同意服务协议" in text_of(response)
    assert the_order(db) is None


def test_buying_creates_the_order_and_the_instance_on_the_guance_side(client, db, buyer):
    response = buy(client)
    order = the_order(db)
    assert response.headers["Location"] == f"/market/orders/{order.order_id}/submitted"
    assert "开通申请已提交" in text_of(client.get(response.headers["Location"]))
    assert order.status == "active" and order.instance_id == order.order_biz_id
    instance = db.session.scalar(select(MarketplaceInstance))
    assert (instance.instance_id, instance.ali_uid) == (order.instance_id, BUYER)


def test_purchased_services_lists_the_instance_with_login_free_and_close(client, db, buyer):
    buy(client)
    order = the_order(db)
    page = text_of(client.get("/market/instances"))
    assert order.instance_id in page and "已开通" in page and "免登" in page and "关闭" in page


def test_login_free_sends_the_browser_to_auth_url_with_a_signed_verify(client, app, db, buyer):
    buy(client)
    order = the_order(db)
    location = client.get(f"/market/instances/{order.order_id}/login-free").headers["Location"]
    url = urlsplit(location)
    params = dict(parse_qsl(url.query))
    assert f"{url.scheme}://{url.netloc}{url.path}" == order.auth_url
    assert params["action"] == "verify" and params["instanceId"] == order.instance_id
    assert spi_token.is_valid(params, app.config["ISV_KEY"])
    assert client.get(f"{url.path}?{url.query}").headers["Location"] == "/activate/"


def test_another_account_cannot_use_my_instance(client, db, buyer):
    buy(client)
    order = the_order(db)
    client.get("/market/?aliUid=1380000000000008")
    assert client.get(f"/market/instances/{order.order_id}/login-free").status_code == 404


def test_close_asks_for_confirmation_then_releases(client, db, buyer):
    buy(client)
    order = the_order(db)
    dialog = text_of(client.get(f"/market/instances?release={order.order_id}"))
    assert "确定关闭实例" in dialog
    submit(client, "/market/instances", action=f"/market/instances/{order.order_id}/release")
    assert the_order(db).status == "released"
    assert db.session.scalar(select(MarketplaceInstance.status)) == "released"
    assert "已关闭" in text_of(client.get("/market/instances"))


@pytest.mark.parametrize(
    "operation, order_status, instance_status",
    [("expire", "expired", "expired"), ("renew", "active", "active"), ("upgrade", "active", "active")],
)
def test_the_simulation_menu_drives_the_lifecycle(client, db, buyer, operation, order_status, instance_status):
    buy(client)
    order = the_order(db)
    before = (order.expires_at, order.sku_id)
    submit(client, "/market/instances", action=f"/market/instances/{order.order_id}/{operation}")
    order = the_order(db)
    instance = db.session.scalar(select(MarketplaceInstance))
    assert (order.status, instance.status) == (order_status, instance_status)
    if operation == "renew":
        assert order.expires_at > before[0] and instance.expires_at == order.expires_at
    if operation == "upgrade":
        assert order.sku_id != before[1] and instance.sku_id == order.sku_id


def test_an_unreachable_spi_leaves_the_order_pending_and_it_is_retried(client, app, db, buyer):
    app.config["SPI_TRANSPORT"] = None
    app.config["SPI_URL"] = "http://127.0.0.1:9/spi"  # discard port: nothing listens
    buy(client)
    order = the_order(db)
    assert order.status == "pending" and order.instance_id is None and "unreachable" in order.last_error
    page = text_of(client.get("/market/instances"))
    assert "开通中" in page and "免登" not in page and "重试开通" in page
    assert db.session.scalar(select(MarketplaceInstance)) is None

    app.config["SPI_TRANSPORT"] = httpx.WSGITransport(app=app)
    app.config["SPI_URL"] = "http://localhost/spi"
    page = text_of(client.get("/market/instances"))  # opening M4 retries
    assert "已开通" in page and the_order(db).status == "active"


def test_the_retry_button_provisions_a_pending_order(client, app, db, buyer):
    app.config["SPI_TRANSPORT"], app.config["SPI_URL"] = None, "http://127.0.0.1:9/spi"
    buy(client)
    order = the_order(db)
    app.config["SPI_TRANSPORT"], app.config["SPI_URL"] = httpx.WSGITransport(app=app), "http://localhost/spi"
    submit(client, "/market/", action=f"/market/orders/{order.order_id}/retry")
    assert the_order(db).status == "active"


def refusing_guance_side(app):
    """A Guance side configured with another ISV key: it refuses every token."""
    from wizard import create_app

    settings = dict(app.config) | {"ISV_KEY": "not-the-shared-key"}
    return create_app({k: settings[k] for k in ("APP_ENV", "SQLALCHEMY_DATABASE_URI", "ISV_KEY")})


def test_an_spi_error_answer_also_keeps_the_order_pending(client, app, db, buyer):
    app.config["SPI_TRANSPORT"] = httpx.WSGITransport(app=refusing_guance_side(app))
    buy(client)
    assert the_order(db).status == "pending" and "InvalidToken" in the_order(db).last_error


def test_simulator_never_imports_the_guance_side():
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "wizard" / "blueprints" / "market"
    for source in package.glob("*.py"):
        text = source.read_text()
        for forbidden in ("from ...services", "from ...models", "from ...flow", "wizard.models", "wizard.services"):
            assert forbidden not in text, (source.name, forbidden)


def test_order_numbers_are_unique_and_the_same_in_every_demo_run(client, db, buyer):
    buy(client)
    buy(client)
    orders = db.session.scalars(select(MarketOrder).order_by(MarketOrder.id)).all()
    assert [o.order_biz_id for o in orders] == ["500000000070001", "500000000070002"]
    assert [o.order_id for o in orders] == ["200000000070001", "200000000070002"]
