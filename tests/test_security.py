"""Security defaults: headers on every response, cookie flags, CSRF on every form."""

import re

import pytest

from wizard.security import SECURITY_HEADERS

from .helpers import csrf_token, submit


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


def test_pages_have_no_inline_script_or_style(app, client):
    for route in get_routes(app):
        page = client.get(route).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page and "<style" not in page, route


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


def test_language_switch_keeps_the_choice_in_a_cookie_and_returns_to_the_page(client):
    response = submit(client, "/login/pwd", {"lang": "en", "next": "/login/pwd"}, action="/language")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/pwd"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang="))
    assert "lang=en" in cookie and "HttpOnly" in cookie
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", ""],
)
def test_language_switch_never_redirects_off_site(client, target):
    response = submit(client, "/", {"lang": "zh", "next": target}, action="/language")
    assert response.headers["Location"] == "/"


def test_csrf_token_is_tied_to_the_session(app, client):
    token = csrf_token(client.get("/").data)
    other = app.test_client()
    other.get("/")
    assert other.post("/language", data={"csrf_token": token, "lang": "en"}).status_code == 400
