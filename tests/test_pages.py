"""The page map is the one place that says where a page lives: what the applications serve agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketplace import pages as market_pages
from wizard import pages

TEMPLATES = Path(pages.__file__).parent / "templates"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "e2e" / "screenshots"


def get_endpoints(app) -> dict[str, set[str]]:
    """Every endpoint that answers GET, with its URL rules."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            found.setdefault(rule.endpoint, set()).add(rule.rule)
    return found


def test_every_page_the_guance_side_serves_is_in_the_map_or_said_not_to_be_a_page(app):
    for endpoint in get_endpoints(app):
        assert endpoint in pages.ROUTED or endpoint in pages.NOT_PAGES, f"{endpoint} is not in wizard/pages.py"


def test_every_routed_page_is_served_at_its_url_with_its_methods_and_template(app):
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for page in pages.ROUTED.values():
        rule = rules[page.endpoint]
        assert (rule.rule, rule.methods - {"HEAD", "OPTIONS"}) == (page.url, set(page.methods)), page.id
        assert page.template is None or (TEMPLATES / page.template).is_file(), page.id


def test_a_state_of_a_page_shares_its_endpoint_url_and_guard():
    for page in pages.PAGE_LIST:
        if page.state_of:
            parent = pages.PAGES[page.state_of]
            assert (page.endpoint, page.url.split("?")[0]) == (parent.endpoint, parent.url), page.id
            assert page.guard.kind == parent.guard.kind, page.id


def test_every_page_of_the_simulator_is_in_its_map(market):
    served = get_endpoints(market)
    for endpoint in served:
        known = {page.endpoint for page in market_pages.MARKET_PAGES}
        assert endpoint in known or endpoint in market_pages.NOT_PAGES, f"{endpoint} is not in marketplace/pages.py"
    for page in market_pages.MARKET_PAGES:
        assert page.url in served[page.endpoint], page.id


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_screenshot_the_maps_name_is_kept_in_both_languages(language):
    names = [name for page in pages.PAGE_LIST for name in page.screenshots]
    names += [name for page in market_pages.MARKET_PAGES for name in page.screenshots]
    assert len(names) == len(set(names)), "a screenshot belongs to one page"
    for name in names:
        assert (SCREENSHOTS / language / f"{name}.png").is_file(), name


def test_pages_behind_a_stage_send_a_visitor_without_a_login_free_session_away(client):
    for page in pages.ROUTED.values():
        if page.guard.kind in ("stage", "register"):
            response = client.get(page.url)
            assert response.status_code == 401 and "请从阿里云云市场进入" in response.get_data(as_text=True), page.id


def test_pages_for_a_signed_in_account_send_a_stranger_to_l1(client):
    for page in pages.ROUTED.values():
        if page.guard.kind == "account":
            url = page.url.replace("<int:workspace_id>", "1")
            assert client.get(url).headers["Location"].startswith(pages.PAGES["L1"].url), page.id
