"""Security defaults: headers on every response, cookie flags, CSRF on every form."""

import re

import pytest

from devtools.customer import Browser
from wizard.security import SECURITY_HEADERS


def get_routes(app) -> list[str]:
    """Every GET route without URL parameters."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    )


def post_routes(app) -> list[str]:
    return sorted(rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods)


def test_every_page_carries_the_security_headers(app, client):
    routes = get_routes(app) + ["/nowhere"]
    assert "/" in routes
    for route in routes:
        response = client.get(route)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (route, name)
        assert response.headers["Cache-Control"] == "no-store", route


def test_the_policy_forbids_inline_script_and_framing():
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_pages_have_no_inline_script_or_style(app, browser):
    for route in get_routes(app):
        page = browser.get(route)
        assert page.find_all("[style], style, script:not([src])") == [], route


def test_the_session_cookie_is_httponly_lax_and_secure_outside_development(client):
    response = client.get("/")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("guance_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_every_form_endpoint_refuses_a_post_without_csrf_token(app, client):
    routes = post_routes(app)
    assert routes
    for route in routes:
        concrete = re.sub(r"<int:[^>]+>", "1", re.sub(r"<(?:string:)?([^>:]+)>", r"\1", route))
        assert client.post(concrete, data={}).status_code == 400, route


def test_language_switch_keeps_the_choice_in_a_cookie_and_returns_to_the_page(browser):
    response = browser.submit("/login/pwd", {"lang": "en", "next": "/login/pwd"}, action="/language")
    assert response.status == 302
    assert response.location == "/login/pwd"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang="))
    assert "lang=en" in cookie and "HttpOnly" in cookie
    assert browser.get("/").lang == "en"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", ""],
)
def test_language_switch_never_redirects_off_site(browser, target):
    assert browser.submit("/", {"lang": "zh", "next": target}, action="/language").location == "/"


def test_csrf_token_is_tied_to_the_session(app, browser):
    page = browser.get("/")
    other = Browser.of(app.test_client())
    other.get("/")
    assert other.submit(page, {"lang": "en"}, action="/language").status == 400
