"""5. Web security: CSRF on every POST route, open redirects, cookie flags, headers everywhere,
session rotation, logout by POST only, and rate limits that answer 429 in the page's own style."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import itsdangerous
import pytest
from hypothesis import given
from sqlalchemy.exc import OperationalError

from devtools.customer import Browser, Page
from wizard.services import accounts

from ..conftest import IsolatedClient, customer_of
from ..marketplace import login_free_url
from .conftest import UNLIMITED, build_app, dispose
from .states import PASSWORD, Flow
from .strategies import hostile_url_text
from .support import (
    FORM,
    assert_clean,
    assert_security_headers,
    assert_styled_error,
    changed_tables,
    encode,
    form_body,
    fuzz_settings,
    row_counts,
    session_of,
    stays_on_site,
)
from .tally import TALLY

pytestmark = pytest.mark.hardening
CATEGORY = "web"
CSRF_MESSAGE = "页面已过期或表单校验失败，请刷新页面后重新提交。"


@pytest.fixture
def web_app(database, sink):
    app = build_app(database, sink, **UNLIMITED)
    yield app
    dispose(app)


@pytest.fixture
def flow(web_app, sink):
    return Flow(web_app, sink)


def concrete(rule) -> str:
    """A path for the rule, its arguments filled with something plausible."""
    values = {"workspace_id": "1", "order_id": "1000000000000001", "operation": "release", "filename": "css/app.css"}
    values |= {"hour_id": "1", "failed_id": "1", "endpoint_id": "1"}  # the operators' console's retries, webhooks
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "x"), rule.rule)


def post_paths(app) -> list[str]:
    return sorted(concrete(rule) for rule in app.url_map.iter_rules() if "POST" in rule.methods)


# ---- CSRF ----


def signature_changed(token: str) -> str:
    """The token with its signature's first character changed.

    (Not the last one: the last base64 character of the 20-byte signature carries 2 padding bits,
    so "A" for a final "B", "C" or "D" decodes to the same signature, which is rightly accepted.)
    """
    signed, _, signature = token.rpartition(".")
    return f"{signed}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def forged_tokens(app, arranged, foreign) -> dict:
    token = arranged.token
    with pytest.MonkeyPatch.context() as patch:  # a token made two hours ago (WTF_CSRF_TIME_LIMIT: one hour)
        patch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 7200)
        arranged.reset()
        signer_expired = Browser.of(arranged.client).get("/").csrf_token
    return {
        "missing": None,
        "empty": "",
        "garbage": "not-a-token",
        "another session's": foreign,
        "signature changed": signature_changed(token),
        "expired": signer_expired,
        "the raw session value": session_of(arranged.client).get("csrf_token", "x"),
    }


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token_with_the_styled_400(web_app, flow):
    foreign = flow.anonymous().token
    failures, cases = [], 0
    for arranged in (flow.anonymous(), flow.unbound(), flow.logged_in()):
        for label, token in forged_tokens(web_app, arranged, foreign).items():
            for path in post_paths(web_app):
                cases += 1
                arranged.reset()
                before = row_counts(web_app)
                data = {"lang": "en", "next": "/", "agreement": "y", "path": "register"}
                if token is not None:
                    data["csrf_token"] = token
                response = arranged.client.post(path, data=data)
                try:
                    if path in ("/codes/send", "/password/strength"):  # the JSON endpoints answer in JSON
                        assert response.status_code == 400 and response.get_json()["message"] == CSRF_MESSAGE
                        assert_security_headers(response)
                    else:
                        body = assert_styled_error(response, 400, "请求无效")
                        assert CSRF_MESSAGE in body
                    assert changed_tables(before, row_counts(web_app)) == {}
                except AssertionError as failure:
                    failures.append(f"{arranged.name} {label} {path}: {failure}")
    TALLY.add(CATEGORY, cases, len(failures))
    assert not failures, failures[:10]


def test_over_https_a_valid_token_from_another_site_is_refused(web_app, flow):
    """Flask-WTF's strict referrer check: a form posted from another origin fails even with a token."""
    client = web_app.test_client()
    page = client.get("/", base_url="https://localhost")
    token = Page.of(page).csrf_token
    for referrer, status in (("https://evil.example/page", 400), (None, 400), ("https://localhost/", 302)):
        with TALLY.case(CATEGORY):
            headers = {"Referer": referrer} if referrer else {}
            response = client.post(
                "/language",
                data={"lang": "en", "csrf_token": token, "next": "/"},
                base_url="https://localhost",
                headers=headers,
            )
            assert response.status_code == status, referrer


# ---- Open redirects ----

REDIRECT_ATTEMPTS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "https:evil.example",
    "https:/evil.example",
    "http:/\\evil.example",
    " //evil.example",
    "\t//evil.example",
    "\n//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/ /evil.example",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://localhost@evil.example/",
    "//localhost@evil.example",
    "/\x00/evil.example",
    "\x00//evil.example",
    "//evil.example\\@localhost/",
    "/\u3002evil.example",
    "\uff0f\uff0fevil.example",
    "//evil%2Eexample",
    "https://evil.example/%2F..",
    "//ｅｖｉｌ.example",
    "/.//evil.example",
    "/./\\evil.example",
    "//\t/evil.example",
    "\\\\/evil.example",
    "//%09/evil.example",
]


def redirect_parameters(app, flow) -> dict:
    """Each parameter that names where to go next: (send a target) -> the response."""
    unbound, anonymous = flow.unbound(), flow.anonymous()
    account = flow.guance_account()
    credentials = {k: account[k] for k in ("site", "username", "password")}

    def post(arranged, path, **fields):  # by hand, so that any character can be sent
        arranged.reset()
        body = form_body([*fields.items(), ("csrf_token", arranged.token)])
        return arranged.client.post(path, data=body, content_type=FORM)

    def language(target):
        return post(anonymous, "/language", lang="zh", next=target)

    def bind_site(target):
        return post(unbound, "/bind/site", site="cn1", next=target)

    def bind_guide(target):
        return post(unbound, "/bind/guide", next=target)

    def login(target):
        client = app.test_client()
        page = client.get("/login/pwd")
        body = form_body([*credentials.items(), ("csrf_token", Page.of(page).csrf_token)])
        return client.post("/login/pwd?next=" + quote(encode(target), safe=""), data=body, content_type=FORM)

    return {
        "POST /language next": language,
        "POST /bind/site next": bind_site,
        "POST /bind/guide next": bind_guide,
        "POST /login/pwd?next=": login,
    }


def follows_only_this_site(send, target) -> None:
    """Redirected on this site, or refused outright (the styled 400: a NUL, say, is no input at all)."""
    response = send(target)
    if response.status_code == 400:
        assert_styled_error(response, 400, "请求无效")
        return
    assert response.status_code == 302, (target, response.status_code)
    location = response.headers["Location"]
    assert stays_on_site(location), f"{target!r} sent the browser to {location!r}"


def test_the_oracle_knows_where_a_browser_goes():
    """The check itself: it must see through what browsers forgive (backslashes, tabs, spaces)."""
    with TALLY.case(CATEGORY):
        for location in ("/bind/billing", "/", "/a//b", "/%2F%2Fevil.example", "?next=//evil.example"):
            assert stays_on_site(location), location
        for location in (
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            " //evil.example",
            "/\t/evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "http:evil.example",
        ):
            assert not stays_on_site(location), location


def test_no_redirect_parameter_leaves_the_site(web_app, flow):
    parameters = redirect_parameters(web_app, flow)
    failures = []
    for name, send in parameters.items():
        with TALLY.case(CATEGORY):  # the parameter does work for a path of this site
            assert send("/bind/billing").headers["Location"] == "/bind/billing", name
        for target in REDIRECT_ATTEMPTS:
            try:
                with TALLY.case(CATEGORY):
                    follows_only_this_site(send, target)
            except AssertionError as failure:
                failures.append(f"{name}: {failure}")
    assert not failures, failures


@pytest.mark.parametrize(
    "name", ["POST /language next", "POST /bind/site next", "POST /bind/guide next", "POST /login/pwd?next="]
)
def test_random_targets_never_leave_the_site(web_app, flow, name):
    send = redirect_parameters(web_app, flow)[name]

    @fuzz_settings(40)
    @given(target=hostile_url_text)
    def fuzz(target):
        with TALLY.case(CATEGORY):
            follows_only_this_site(send, target)

    fuzz()


# ---- Cookies ----


class RecordingClient(IsolatedClient):
    """Keeps every Set-Cookie header the application sent."""

    set_cookies: list[str] = []

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        type(self).set_cookies.extend(response.headers.getlist("Set-Cookie"))
        return response


def cookie_flags(header: str) -> tuple[str, set[str], str | None]:
    name = header.split("=", 1)[0]
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    same_site = re.search(r"SameSite=(\w+)", header)
    return name, attributes, same_site.group(1) if same_site else None


def walk_everything(app, flow) -> None:
    """Every cookie the application sets: 免登, language, guide, R1-R3, login, logout."""
    client = app.test_client()
    customer_of(app, None, client).arrive("1380000000000055")
    Browser.of(client).submit("/activate/", {"lang": "en", "next": "/activate/"}, action="/language")
    Browser.of(client).submit("/activate/", {"next": "/bind/billing"}, action="/bind/guide")
    response = flow.register_activation().browser.submit(
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
    assert response.headers["Location"] == "/activate/success"
    account = flow.guance_account()
    Browser.of(client).submit("/login/pwd", {k: account[k] for k in ("site", "username", "password")})
    Browser.of(client).submit("/console/", action="/logout")


@pytest.mark.parametrize("profile", ["testing", "production", "development"])
def test_every_cookie_is_httponly_lax_and_secure_outside_development(database, sink, profile):
    secrets = (
        {"SECRET_KEY": "a-production-secret", "ISV_KEY": "a-production-isv-key", "PUBLIC_BASE_URL": "https://localhost"}
        if profile == "production"
        else {}
    )
    app = build_app(database, sink, **UNLIMITED, **secrets, APP_ENV=profile)
    if profile == "production":  # no development mailbox there: the flow reads its codes from the sink
        assert "devmail" not in app.blueprints
    app.test_client_class = RecordingClient
    RecordingClient.set_cookies = []
    try:
        walk_everything(app, Flow(app, sink))
    finally:
        dispose(app)
    seen = {}
    for header in RecordingClient.set_cookies:
        name, attributes, same_site = cookie_flags(header)
        seen.setdefault(name, []).append(header)
        with TALLY.case(CATEGORY):
            assert "httponly" in attributes, header
            assert same_site == "Lax", header
            assert ("secure" in attributes) == (profile != "development"), header
    assert {"guance_session", "lang", "bind_guide_seen"} <= set(seen), sorted(seen)
    assert "remember_token" not in seen  # no remember-me: a login lasts as long as the browser session


# ---- Headers on every route, every answer ----


def every_answer(app, flow) -> list[tuple[str, object]]:
    """(label, response): every route and method, the error pages, JSON, static files."""
    anonymous, unbound = flow.anonymous(), flow.unbound()
    answers = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods):
            for arranged in (anonymous, unbound):
                arranged.reset()
                data = {"csrf_token": arranged.token} if method == "POST" else None
                response = arranged.client.open(concrete(rule), method=method, data=data)
                answers.append((f"{method} {rule.rule} @{arranged.name}", response))
    client = app.test_client()
    answers += [
        ("404", client.get("/no/such/page")),
        ("405", client.delete("/")),
        ("400 without a token", client.post("/language")),
        ("401 without a marketplace login", client.get("/register/basic")),
        ("413 a body too large", client.post("/language", data={"x": "y" * 600_000})),
        ("SPI JSON", client.get("/spi?action=createInstance")),
        ("免登 refused", client.get("/spi?action=verify&instanceId=x&timeStamp=y&token=z")),
        ("codes JSON", client.post("/codes/send", data={})),
    ]
    return answers


def test_every_answer_carries_the_security_headers(web_app, flow):
    failures = []
    answers = every_answer(web_app, flow)
    for label, response in answers:
        try:
            with TALLY.case(CATEGORY):
                assert_clean(response)
                assert_security_headers(response)
                assert response.headers["Strict-Transport-Security"].startswith("max-age="), "HSTS"
                if "/static/" in label and response.status_code == 200:
                    assert response.headers.get("Cache-Control") != "no-store"  # static files may be cached
                else:
                    assert response.headers["Cache-Control"] == "no-store", label
        except AssertionError as failure:
            failures.append(f"{label}: {failure}")
    assert not failures, failures[:10]
    assert len(answers) > 100


@pytest.fixture
def failing_app(web_app, monkeypatch):
    """The application with a page that fails, one whose database is gone, and one that is limited."""
    from wizard.extensions import limiter

    @web_app.get("/hardening/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    @web_app.get("/hardening/limited")
    @limiter.limit("1 per minute")
    def limited():
        return "ok"

    def database_gone(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(accounts, "authenticate", database_gone)
    return web_app


def test_error_pages_carry_the_headers_and_no_detail(failing_app):
    client = failing_app.test_client()
    page = client.get("/login/pwd")
    token = Page.of(page).csrf_token
    login = {"site": "cn1", "username": "someone", "password": PASSWORD, "csrf_token": token}
    for label, response, status, title in (
        ("500", client.get("/hardening/boom"), 500, "服务出错了"),
        ("503", client.post("/login/pwd", data=login), 503, "服务暂时不可用"),
        ("429", (client.get("/hardening/limited"), client.get("/hardening/limited"))[1], 429, "操作过于频繁"),
    ):
        with TALLY.case(CATEGORY):
            body = assert_styled_error(response, status, title)
            assert "secret internal detail" not in body and "connection refused" not in body
            assert response.headers["Cache-Control"] == "no-store", label


# ---- Sessions ----


def session_cookie(client) -> str:
    cookie = client.get_cookie("guance_session")
    return cookie.value if cookie else ""


def test_the_session_is_rotated_at_login_and_a_planted_one_gains_nothing(web_app, flow):
    account = flow.guance_account()
    credentials = {k: account[k] for k in ("site", "username", "password")}
    with TALLY.case(CATEGORY):  # an attacker's session, planted in the victim's browser before login
        attacker = flow.unbound()
        planted = session_cookie(attacker.client)
        victim = web_app.test_client()
        victim.set_cookie("guance_session", planted)
        with victim.session_transaction() as session:
            session["planted"] = "by the attacker"
        before = session_of(victim)
        response = Browser.of(victim).submit("/login/pwd", credentials)
        assert response.headers["Location"] == "/console/"
        after = session_of(victim)
        assert "planted" not in after and "market_login" not in after and after["_user_id"]
        assert after.get("csrf_token") != before.get("csrf_token")
    with TALLY.case(CATEGORY):  # the attacker's copy of the old cookie is still only the attacker's
        replay = web_app.test_client()
        replay.set_cookie("guance_session", planted)
        assert replay.get("/console/").headers["Location"].startswith("/login/pwd")
    with TALLY.case(CATEGORY):  # 免登 starts a fresh session too
        arranged = flow.unbound()
        planted_login = session_of(arranged.client)["market_login"]
        victim = web_app.test_client()
        victim.set_cookie("guance_session", session_cookie(arranged.client))
        with victim.session_transaction() as session:
            session["planted"] = "by the attacker"
        _client, _uid, instance_id = flow.arrive()
        asked = victim.get(login_free_url(web_app, instance_id))  # another Aliyun account was mid-flow
        assert "新的阿里云账号" in Page.of(asked).text
        Browser.of(victim).submit("/activate/", {"proceed": "1"}, action="/login-free/switch")
        fresh = session_of(victim)
        assert "planted" not in fresh and fresh["market_login"] != planted_login
        assert "market_login" not in session_of(arranged.client)  # the planted id itself was deleted


def test_logout_is_a_post_with_a_token_only(web_app, flow):
    arranged = flow.logged_in()
    client = arranged.client
    with TALLY.case(CATEGORY):
        assert_styled_error(client.get("/logout"), 405, "不支持的操作")
        assert client.get("/console/").status_code == 200
    with TALLY.case(CATEGORY):
        assert_styled_error(client.post("/logout"), 400, "请求无效")
        assert client.get("/console/").status_code == 200
    with TALLY.case(CATEGORY):
        response = client.post(
            "/logout",
            data={"csrf_token": arranged.token},
            base_url="https://localhost",
            headers={"Referer": "https://evil.example/"},
        )
        assert response.status_code == 400 and client.get("/console/").status_code == 200
    with TALLY.case(CATEGORY):
        response = client.post("/logout", data={"csrf_token": arranged.token})
        assert response.headers["Location"] == "/login/pwd"
        assert client.get("/console/").headers["Location"].startswith("/login/pwd")


# ---- Rate limits ----


@pytest.fixture
def limited_app(database, sink):
    """The default limits: 10 password logins a minute, 20 获取验证码 an hour, per client IP."""
    app = build_app(database, sink)
    yield app
    dispose(app)


def test_password_logins_are_limited_with_the_styled_429(limited_app, sink):
    client = limited_app.test_client()
    account = Flow(limited_app, sink).guance_account()
    wrong = {"site": "cn1", "username": account["username"], "password": "Wrong1234"}
    # Ten usernames: the per-account throttle (tests/test_login_throttle.py) is not what is tested here.
    guesses = [{**wrong, "username": f"guess{n}"} for n in range(10)]
    statuses = [Browser.of(client).submit("/login/pwd", guess).status for guess in guesses]
    with TALLY.case(CATEGORY):
        assert statuses == [200] * 10
        limited = Browser.of(client).submit("/login/pwd", {**wrong, "password": account["password"]})
        assert_styled_error(limited, 429, "操作过于频繁")
        assert "Retry-After" in limited.headers
    with TALLY.case(CATEGORY):  # a forged X-Forwarded-For does not buy more tries (PROXY_COUNT=0)
        spoofed = Browser.of(client).submit("/login/pwd", wrong, headers={"X-Forwarded-For": "203.0.113.9"})
        assert spoofed.status == 429


def test_sending_codes_is_limited_per_ip_with_the_styled_page_and_json(limited_app, sink):
    flow = Flow(limited_app, sink)
    arranged = flow.unbound()
    client = arranged.client
    for n in range(10):
        Browser.of(client).submit("/register/basic", {"email": f"page{n}@corp.example", "send_code": "1"})
        client.post(
            "/codes/send",
            data={"purpose": "register", "identifier": f"json{n}@corp.example"},
            headers={"X-CSRFToken": arranged.token, "X-Forwarded-For": f"203.0.113.{n}"},
        )
    with TALLY.case(CATEGORY):  # the 21st, from the page: the styled 429
        page = Browser.of(client).submit("/register/basic", {"email": "page-last@corp.example", "send_code": "1"})
        assert_styled_error(page, 429, "操作过于频繁")
    with TALLY.case(CATEGORY):  # and from the script: JSON with how long to wait
        answer = client.post(
            "/codes/send",
            data={"purpose": "register", "identifier": "json-last@corp.example"},
            headers={"X-CSRFToken": arranged.token},
        )
        assert answer.status_code == 429
        body = answer.get_json()
        assert body["ok"] is False and body["retry_after"] > 0 and "操作过于频繁" in body["message"]
        assert_security_headers(answer)
    with TALLY.case(CATEGORY):  # submitting the form itself is not a send, so it still works
        assert Browser.of(client).submit("/register/basic", {"email": "x@corp.example"}).status == 200
