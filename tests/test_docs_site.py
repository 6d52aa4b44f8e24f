"""`make docs` builds the illustrated guide as a MkDocs Material site, in Chinese and English, from the
pages e2e/guide.py writes and the screenshots the walkthrough took, and the site needs no network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devtools.make import make
from devtools.pages import Page
from e2e import guide

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"zh": "", "en": "en/"}  # where each language's pages live in the site
# What a browser loads by itself (not links a reader may follow): these elements' src or href, and in CSS
# (files, <style> elements, style attributes) imports and url()s.
LOADING = "link[href], script[src], img[src], iframe[src], source[src], audio[src], video[src]"
CSS_EXTERNAL = re.compile(r"""@import\s+(?:url\()?["']?(?:https?:)?//|url\(["']?(?:https?:)?//""")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site the real `make docs` recipe builds."""
    built = tmp_path_factory.mktemp("site")
    make("docs", SITE=str(built))
    return built


def read(path: Path) -> Page:
    return Page(200, {}, path.read_text(encoding="utf-8"), str(path))


def html(site: Path, language: str, page: str = guide.GUIDE_PAGE) -> Page:
    return read(site / PAGES[language] / page / "index.html")


@pytest.mark.parametrize("language", guide.LANGUAGES)
def test_the_front_page_leads_to_every_part_of_the_guide(site, language):
    front, page = read(site / PAGES[language] / "index.html"), html(site, language)
    assert front.lang == language and page.lang == language
    assert page.title.removesuffix(" ¶") == guide.GUIDE.title[language]  # (¶: the heading's permalink)
    for step in guide.GUIDE.steps:
        if step.level in (2, 3):
            assert f"{guide.GUIDE_PAGE}/#{step.anchor}" in front.links()
            assert page.find(f"#{step.anchor}")
    assert f"{guide.OPS_PAGE}/" in front.links()  # operators find their page from the front page
    assert guide.OPS_GUIDE.title[language] in html(site, language, guide.OPS_PAGE).text


@pytest.mark.parametrize("language", guide.LANGUAGES)
@pytest.mark.parametrize("name", sorted(guide.GUIDES))
def test_the_guide_shows_the_committed_screenshots_of_its_language(site, language, name):
    page = site / PAGES[language] / name / "index.html"
    shown = [image["src"] for image in read(page).find_all("article img[alt][src]") if image["alt"]]
    assert [Path(src).stem for src in shown] == guide.screenshots(guide.GUIDES[name])
    for src in shown:
        served = (page.parent / src).resolve()
        assert served.read_bytes() == (ROOT / "e2e" / "screenshots" / language / served.name).read_bytes()


@pytest.mark.parametrize("language", guide.LANGUAGES)
def test_steps_are_numbered_and_notes_are_admonitions(site, language):
    page = html(site, language)
    numbered = [step for step in guide.GUIDE.steps if not step.level and not step.callout and step.numbered]
    assert len(page.find_all("article p > span.twemoji:first-child")) == len(numbered)
    for step in guide.GUIDE.steps:
        if step.callout:
            title = step.title[guide.LANGUAGES.index(language)]
            assert title in page.texts_of(f"div.admonition.{step.callout} > p.admonition-title:first-child")


@pytest.mark.parametrize("language, other", [("zh", "en"), ("en", "zh")])
def test_each_page_links_to_itself_in_the_other_language(site, language, other):
    target = f"/{PAGES[other]}{guide.GUIDE_PAGE}/"
    links = [link["href"].lstrip("./") for link in html(site, language).find_all(f"a[hreflang={other}]")]
    assert target.lstrip("/") in links, (target, links)


def test_nothing_is_loaded_from_another_site(site):
    """Fonts, scripts, styles and images all come from the site itself (theme.font is off)."""
    loaded_from_outside = [
        f"{path.relative_to(site)}: {found}" for path in site.rglob("*") for found in loaded_by(path)
    ]
    assert not loaded_from_outside


def loaded_by(path: Path) -> list[str]:
    """What the page or style sheet at `path` has a browser fetch from another site."""
    if path.suffix == ".css":
        return CSS_EXTERNAL.findall(path.read_text(encoding="utf-8"))
    if path.suffix != ".html":
        return []
    page = read(path)
    addresses = [element.get("src") or element.get("href") for element in page.find_all(LOADING)]
    styles = [style.get_text() for style in page.find_all("style")] + [e["style"] for e in page.find_all("[style]")]
    outside = [address for address in addresses if address.startswith(("//", "http://", "https://"))]
    return outside + [found for style in styles for found in CSS_EXTERNAL.findall(style)]


def test_the_search_index_holds_both_languages_with_chinese_split_into_words(site):
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {document["location"].split("#")[0] for document in index["docs"]}
    assert {f"{PAGES[language]}{guide.GUIDE_PAGE}/" for language in guide.LANGUAGES} <= locations
    chinese = next(doc["text"] for doc in index["docs"] if doc["location"] == f"{guide.GUIDE_PAGE}/#register")
    assert "\u200b验证码\u200b" in chinese  # jieba's word boundaries, which the search separator splits on
