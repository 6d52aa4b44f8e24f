"""The built documentation site in Chromium: search finds Chinese and English words, the language switch
keeps the page, and nothing is requested from another host."""

from __future__ import annotations

import functools
import http.server
import re
import threading

import pytest
from playwright.sync_api import Page, expect

from devtools.make import make
from devtools.ports import free_port
from e2e import guide

SEARCHES = [("zh", "验证码"), ("zh", "工作空间"), ("en", "instance"), ("en", "workspace")]  # what a reader types


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture(scope="module")
def docs_url(tmp_path_factory):
    """`make docs` into a temporary directory, served on a free loopback port."""
    site = tmp_path_factory.mktemp("site")
    make("docs", SITE=str(site))
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


@pytest.fixture
def reader(browser, docs_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    outside = []
    page.on("request", lambda request: request.url.startswith(docs_url) or outside.append(request.url))
    yield page
    context.close()
    assert not outside, outside


@pytest.mark.parametrize("language, query", SEARCHES)
def test_search_finds_the_guide_by_a_word_of_it(reader: Page, docs_url, language, query):
    reader.goto(f"{docs_url}/{'' if language == 'zh' else 'en/'}")
    search = reader.locator("input.md-search__input")
    search.click()
    search.fill(query)
    search.press("End")  # Material searches on key presses; fill() types none
    results = reader.locator(".md-search-result__list")
    # Among the results (the page map lists every page too): the guide.
    in_guide = f"a[href*='{'/' if language == 'zh' else '/en/'}{guide.GUIDE_PAGE}/']"
    expect(results.locator(in_guide).first).to_be_visible()
    highlighted = results.locator("mark").first  # the word, a word of it (工作 of 工作空间) or a form of it
    expect(highlighted).to_be_visible()
    word = highlighted.inner_text().lower().rstrip(".")  # a full stop stays on the word (see mkdocs.yml)
    assert word in query or query in word


def test_the_language_switch_keeps_the_page(reader: Page, docs_url):
    reader.goto(f"{docs_url}/{guide.GUIDE_PAGE}/")
    expect(reader.locator("h1")).to_contain_text(guide.GUIDE.title["zh"])
    reader.locator(".md-header__option .md-select").hover()
    reader.get_by_role("link", name="English").click()
    expect(reader).to_have_url(re.compile(rf"/en/{guide.GUIDE_PAGE}/$"))
    expect(reader.locator("h1")).to_contain_text(guide.GUIDE.title["en"])
