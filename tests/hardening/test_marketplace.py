"""6. The marketplace simulator, another party: what it must never sign, trust or mix up.

On f0ffb82 the simulator lived inside the Guance application: anyone could buy as any aliUid, point
it at a fake SPI through the Host header and receive a valid 免登 link for another customer's
instance; a visitor without its cookie was the first demo buyer; two Aliyun IDs sharing their last
10 digits collided on the order number (a 500). Each attack below is refused, and every simulator
form and page answers hostile input without a 500, a stack trace or a half-written order.
"""

from __future__ import annotations

import shutil

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from devtools.customer import Browser
from marketplace import create_app as create_marketplace
from marketplace import orders as market_orders
from marketplace.buyers import buyer_for
from marketplace.demo import seed_buyers
from marketplace.extensions import db as market_db
from marketplace.extensions import one_transaction as market_unit
from marketplace.models import MarketOrder

from ..conftest import marketplace_settings
from .conftest import build_app, build_market, dispose
from .strategies import hostile_text, hostile_url_text
from .support import FORM, assert_clean, assert_consistent, encode, form_body, fuzz_settings
from .tally import TALLY

pytestmark = pytest.mark.hardening
CATEGORY = "marketplace"
VICTIM, ATTACKER = "1380000000000201", "1380000000000202"


@pytest.fixture
def pair(database, sink, tmp_path):
    app = build_app(database, sink)
    market = build_market(app, tmp_path)
    yield app, market
    dispose(market)
    dispose(app)


def sign_in(client, ali_uid: str) -> None:
    assert client.get(f"/?aliUid={ali_uid}").status_code == 302


def buy(client) -> str:
    return Browser.of(client).submit("/activate", {"agreement": "y"}).expect(302).location.split("/")[-2]


def order(market, order_id: str) -> MarketOrder | None:
    with market.app_context():
        found = market_db.session.scalar(select(MarketOrder).filter_by(order_id=order_id))
        market_db.session.expunge_all()
        return found


def order_count(market) -> int:
    with market.app_context():
        return market_db.session.scalar(select(func.count()).select_from(MarketOrder))


def answering(body: dict, status: int = 200) -> httpx.MockTransport:
    """A fake SPI that answers every call with `body`."""
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


# ---- The signing oracle: 免登 links only for the signed-in buyer's own instances ----


def test_no_login_free_link_for_an_instance_the_buyer_does_not_own(pair):
    app, market = pair
    victim, attacker = market.test_client(), market.test_client()
    sign_in(victim, VICTIM)
    victims_order = buy(victim)
    sign_in(attacker, ATTACKER)
    for path in (f"/instances/{victims_order}/login-free", f"/orders/{victims_order}/submitted"):
        with TALLY.case(CATEGORY):
            assert assert_clean(attacker.get(path)) and attacker.get(path).status_code == 404
    for operation in ("release", "renew", "expire", "upgrade"):
        with TALLY.case(CATEGORY):
            response = Browser.of(attacker).submit("/instances", action=f"/instances/{victims_order}/{operation}")
            assert response.status == 404
            assert order(market, victims_order).status == "active"


def test_a_visitor_without_the_simulators_cookie_is_nobody(pair):
    app, market = pair
    with market.app_context(), market_unit():  # as `flask demo seed` runs it
        seed_buyers()
    stranger = market.test_client()
    with TALLY.case(CATEGORY):
        product = assert_clean(stranger.get("/"))
        assert "立即开通" not in product and "当前阿里云账号 ID" not in product and "登录后开通" in product
    for path in ("/instances", "/activate", "/orders/1/submitted", "/instances/1/login-free"):
        with TALLY.case(CATEGORY):
            assert stranger.get(path).headers["Location"].startswith("/signin?next=")
    with TALLY.case(CATEGORY):
        token = Browser.of(stranger).get("/signin").csrf_token
        refused = stranger.post("/activate", data={"csrf_token": token, "agreement": "y"})
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/signin")
        assert order_count(market) == 0
    with TALLY.case(CATEGORY):
        picker = assert_clean(stranger.get("/signin"))
        assert all(uid in picker for uid in ("1380000000000001", "1380000000000002", "1380000000000003"))


def test_a_forged_buyer_cookie_is_nobody(pair):
    app, market = pair
    client = market.test_client()
    for forged in (VICTIM, '"1380000000000201"', "eyJhbGciOiJub25lIn0.IjEzODAwMDAwMDAwMDAwMjAxIg.", ""):
        with TALLY.case(CATEGORY):
            client.set_cookie("aliyun_market_buyer", forged)
            assert client.get("/instances").headers["Location"].startswith("/signin")


# ---- Answers the simulator must not trust ----

UNTRUSTED_ANSWERS = [
    ({"instanceId": "a b", "appInfo": {"authUrl": "http://localhost/spi"}}, "wrong shape"),
    ({"instanceId": "x" * 65, "appInfo": {"authUrl": "http://localhost/spi"}}, "wrong shape"),
    ({"instanceId": True, "appInfo": {"authUrl": "http://localhost/spi"}}, "usable instanceId"),
    ({"instanceId": ["5001"], "appInfo": {"authUrl": "http://localhost/spi"}}, "usable instanceId"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "https://evil.example/spi"}}, "authUrl outside"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "https://localhost/spi"}}, "authUrl outside"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "http://localhost:8080/spi"}}, "authUrl outside"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "http://localhost@evil.example/spi"}}, "authUrl outside"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "//evil.example/spi"}}, "authUrl outside"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "javascript:alert(1)//localhost"}}, "authUrl outside"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "http://localhost/spi\r\nX: y"}}, "unusable authUrl"),
    ({"instanceId": "5001", "appInfo": {"authUrl": 42}}, "unusable authUrl"),
    ({"instanceId": "5001", "appInfo": {"authUrl": "http://localhost/spi", "frontEndUrl": "http://evil/"}},
     "frontEndUrl outside"),
    ({"instanceId": "5001", "appInfo": "http://localhost/spi"}, "without appInfo"),
    ({"instanceId": "5001"}, "without appInfo"),
]  # fmt: skip


@pytest.mark.parametrize("answer, reason", UNTRUSTED_ANSWERS)
def test_an_answer_that_cannot_be_trusted_fails_the_order_and_gives_no_login_free(pair, answer, reason):
    app, market = pair
    market.config["SPI_TRANSPORT"] = answering(answer)
    client = market.test_client()
    sign_in(client, VICTIM)
    with TALLY.case(CATEGORY):
        order_id = buy(client)
        failed = order(market, order_id)
        assert failed.status == "failed" and reason in failed.last_error, failed.last_error
        assert failed.auth_url is None and failed.instance_id is None
        page = assert_clean(client.get("/instances"))
        assert "开通失败" in page and "免登" not in page
        assert client.get(f"/instances/{order_id}/login-free").status_code == 404


def test_a_forged_answer_naming_another_customers_instance_is_refused(pair):
    app, market = pair
    victim, attacker = market.test_client(), market.test_client()
    sign_in(victim, VICTIM)
    victims = order(market, buy(victim))
    market.config["SPI_TRANSPORT"] = answering(
        {"instanceId": victims.instance_id, "appInfo": {"authUrl": "http://localhost/spi"}}
    )
    sign_in(attacker, ATTACKER)
    with TALLY.case(CATEGORY):
        forged = order(market, buy(attacker))
        assert forged.status == "failed" and "another order" in forged.last_error and forged.instance_id is None
        assert attacker.get(f"/instances/{forged.order_id}/login-free").status_code == 404
        assert order(market, victims.order_id).instance_id == victims.instance_id  # the victim's order is intact
        assert_consistent(app, market)


@pytest.mark.parametrize("configured", [None, "https://isv.example/aliyun/spi"])
def test_the_spi_is_called_at_its_configured_url_whatever_host_the_browser_names(tmp_path, market_template,
                                                                                   configured):  # fmt: skip
    """On f0ffb82, SPI_URL fell back to the request's host: a Host header pointed the simulator at a fake SPI."""
    called = []

    def spi_side(request: httpx.Request) -> httpx.Response:
        called.append(str(request.url.copy_with(query=None)))
        return httpx.Response(503, json={"success": False, "code": "ServiceUnavailable"})

    shutil.copyfile(market_template, tmp_path / "m.db")
    settings = marketplace_settings(f"sqlite:///{tmp_path / 'm.db'}", SPI_TRANSPORT=httpx.MockTransport(spi_side))
    del settings["SPI_URL"]
    market = create_marketplace(settings | ({"SPI_URL": configured} if configured else {}))
    for host in ("attacker.example:8080", "localhost", "127.0.0.1:5000"):
        with TALLY.case(CATEGORY), market.test_request_context("/activate", method="POST", base_url=f"http://{host}"):
            market_orders.place_order(buyer_for(VICTIM).ali_uid)
    assert called == [configured or "http://127.0.0.1:5000/spi"] * 3


def test_the_guance_side_answers_spi_addresses_from_its_configuration_not_the_host(pair):
    from ..marketplace import order_params, signed_query

    app, _market = pair
    client = app.test_client()
    for host in ("attacker.example", "localhost:9999", "evil.example:443"):
        with TALLY.case(CATEGORY):
            response = client.get(f"/spi?{signed_query(app, **order_params())}", headers={"Host": host})
            if response.status_code == 200:
                assert response.get_json()["appInfo"]["authUrl"] == "http://localhost/spi"
            else:
                assert_clean(response)


# ---- Numbers ----


def test_order_numbers_are_unique_for_accounts_that_share_trailing_digits(pair):
    app, market = pair
    client = market.test_client()
    bought = []
    for uid in ("2380000000000001", "1380000000000001", "2380000000000001", "380000000000001"):
        with TALLY.case(CATEGORY):
            sign_in(client, uid)
            bought.append(order(market, buy(client)))
    assert [(o.order_id, o.order_biz_id) for o in bought] == [
        ("22380000000000001000001", "52380000000000001000001"),
        ("21380000000000001000001", "51380000000000001000001"),
        ("22380000000000001000002", "52380000000000001000002"),
        ("2380000000000001000001", "5380000000000001000001"),
    ]
    assert all(o.status == "active" for o in bought)
    assert_consistent(app, market)


# ---- Hostile input on every simulator form and page ----

FIELDS = ["agreement", "ali_uid", "lang", "next", "x"]
# "/" is the market API (POST): without the SDK's signature it answers Alibaba's JSON refusal.
SIMULATOR_POSTS = [
    "/signin",
    "/signout",
    "/activate",
    "/language",
    "/orders/{order}/retry",
    "/instances/{order}/{op}",
    "/",
]


def simulator_writes(market) -> dict[str, int]:
    with market.app_context(), market_db.engine.connect() as connection:
        count = {name: text(f"SELECT count(*) FROM {name}") for name in ("buyer", "market_order", "metering_record")}
        return {name: connection.execute(query).scalar() for name, query in count.items()}


def test_every_simulator_post_route_is_fuzzed(pair):
    _app, market = pair
    posted = {rule.rule for rule in market.url_map.iter_rules() if "POST" in rule.methods}
    expected = {p.replace("{order}", "<order_id>").replace("{op}", "<operation>") for p in SIMULATOR_POSTS}
    assert posted == expected


def test_simulator_forms_answer_hostile_input_without_a_500_or_a_stray_order(pair):
    app, market = pair
    client = market.test_client()
    sign_in(client, VICTIM)
    own = buy(client)
    token = Browser.of(client).get("/instances").csrf_token

    @fuzz_settings(60)
    @given(
        route=st.sampled_from(SIMULATOR_POSTS),
        order_id=st.one_of(st.just(own), hostile_url_text),
        operation=st.one_of(st.sampled_from(["renew", "upgrade", "expire", "release"]), hostile_url_text),
        pairs=st.lists(st.tuples(st.sampled_from(FIELDS), hostile_text), max_size=4),
        csrf=st.sampled_from(["valid", "valid", "missing", "garbage"]),
    )  # fmt: skip
    def fuzz(route, order_id, operation, pairs, csrf):
        from urllib.parse import quote_from_bytes

        path = route.format(order=quote_from_bytes(encode(order_id), safe="") or "x",
                            op=quote_from_bytes(encode(operation), safe="") or "x")  # fmt: skip
        body = [("csrf_token", token)] if csrf == "valid" else [("csrf_token", "x")] if csrf == "garbage" else []
        with TALLY.case(CATEGORY):
            before = simulator_writes(market)
            response = client.post(path, data=form_body(body + pairs), content_type=FORM)
            assert_clean(response)
            after = simulator_writes(market)
            if csrf != "valid":
                assert response.status_code in (302, 400, 404, 405) and after == before
            assert after["market_order"] - before["market_order"] <= 1
            sign_in(client, VICTIM)  # a fuzzed /signin or /signout may have changed who is signed in

    fuzz()
    assert_consistent(app, market)


@pytest.mark.parametrize(
    "path", ["/", "/signin", "/instances", "/activate", "/orders/1/submitted", "/instances/{own}/bill"]
)
def test_simulator_pages_answer_any_query_cleanly(pair, path):
    _app, market = pair
    client = market.test_client()
    sign_in(client, VICTIM)
    if "{own}" in path:  # a page of the buyer's own order (费用账单)
        path = path.format(own=buy(client))

    @fuzz_settings(25)
    @given(name=st.sampled_from(["aliUid", "release", "next", "month", "page", "x"]), value=hostile_url_text)
    def fuzz(name, value):
        from .support import query_string

        with TALLY.case(CATEGORY):
            assert_clean(client.get(f"{path}?{query_string([(name, value)])}"))
            sign_in(client, VICTIM)

    fuzz()


def signed_push(client, metering: str, secret: str = "dev-market-access-key-secret"):
    """PushMeteringData signed with the SDK's own V2 signing function, as the SDK would send it."""
    import uuid
    from datetime import UTC, datetime
    from urllib.parse import quote, urlencode

    from alibabacloud_tea_openapi.utils import Utils

    params = {
        "Action": "PushMeteringData", "Format": "json", "Version": "2015-11-01", "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex, "AccessKeyId": "LTAI5tGuanceDevIsv0001",
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Metering": metering,
    }  # fmt: skip
    params["Signature"] = Utils.get_rpcsignature(params, "POST", secret)
    return client.post("/?" + urlencode(params, quote_via=quote))


JSON_KEYS = st.sampled_from(["InstanceId", "StartTime", "EndTime", "Entities", "Key", "Value"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS | hostile_text, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def test_the_market_api_answers_hostile_metering_in_alibabas_shape_and_bills_nothing(pair):
    import json

    _app, market = pair
    client = market.test_client()
    sign_in(client, VICTIM)
    buy(client)
    with market.app_context():
        instance_id = market_db.session.scalar(select(MarketOrder.instance_id))

    @fuzz_settings(80)
    @given(metering=st.one_of(hostile_text, JSON_VALUES.map(json.dumps),
                              st.builds(lambda v: json.dumps([{"InstanceId": instance_id, "StartTime": v, "EndTime": v,
                                                               "Entities": [{"Key": "DataPoints", "Value": v}]}]),
                                        JSON_VALUES)))  # fmt: skip
    def fuzz(metering):
        metering = metering.encode("utf-8", "replace").decode()  # the SDK can only send text it can encode
        with TALLY.case(CATEGORY):
            before = simulator_writes(market)
            response = signed_push(client, metering)
            assert_clean(response)
            if "\x00" not in metering:
                assert set(response.get_json()) >= {"RequestId", "Code", "Message"}, response.get_data(as_text=True)
            assert simulator_writes(market) == before

    fuzz()


def test_nul_and_files_are_refused_at_the_door(pair):
    _app, market = pair
    client = market.test_client()
    sign_in(client, VICTIM)
    for path in ("/instances?release=a%00b", "/orders/a%00b/submitted", "/?aliUid=1%002"):
        with TALLY.case(CATEGORY):
            assert assert_clean(client.get(path), allowed_statuses={400})
    with TALLY.case(CATEGORY):
        import io

        upload = client.post(
            "/activate", data={"agreement": (io.BytesIO(b"y"), "a.txt")}, content_type="multipart/form-data"
        )
        assert assert_clean(upload, allowed_statuses={400}) and order_count(market) == 0


def test_the_simulators_pages_answer_503_when_its_database_is_down(pair, monkeypatch):
    from marketplace import views

    def database_gone(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    _app, market = pair
    monkeypatch.setattr(views, "current_buyer", database_gone)
    client = market.test_client()
    for path in ("/", "/instances", "/signin"):
        with TALLY.case("faults"):
            body = assert_clean(client.get(path), allowed_statuses={503})
            assert "服务暂时不可用" in body and 'href="/static/css/market.css"' in body


@pytest.mark.parametrize("profile", ["testing", "production", "development"])
def test_every_simulator_cookie_is_httponly_lax_and_secure_outside_development(tmp_path, market_template, profile):
    shutil.copyfile(market_template, tmp_path / "m.db")
    secrets = (
        {"SECRET_KEY": "a-market-secret", "ISV_KEY": "an-isv-key", "MARKET_ACCESS_KEY_SECRET": "an-access-key-secret"}
        if profile == "production"
        else {}
    )
    market = create_marketplace(
        marketplace_settings(f"sqlite:///{tmp_path / 'm.db'}", None, APP_ENV=profile, **secrets)
        | {"SPI_TRANSPORT": answering({"success": False, "code": "Down"}, 503)}
    )
    client = market.test_client()
    headers = client.get("/?aliUid=1380000000000203").headers.getlist("Set-Cookie")
    page = client.get("/activate")
    headers += page.headers.getlist("Set-Cookie")
    switched = Browser.of(client).submit("/activate", {"lang": "en", "next": "/"}, action="/language")
    headers += switched.headers.getlist("Set-Cookie")
    names = set()
    for header in headers:
        with TALLY.case(CATEGORY):
            names.add(header.split("=", 1)[0])
            assert "HttpOnly" in header and "SameSite=Lax" in header, header
            assert ("Secure" in header) == (profile != "development"), header
    assert names == {"aliyun_market_buyer", "aliyun_market_session", "aliyun_market_lang"}
