"""`make docs` builds the illustrated guide as a MkDocs Material site, in Chinese and English, from the
pages e2e/guide.py writes and the screenshots the walkthrough took, and the site needs no network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devtools.make import make
from e2e import guide

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"zh": "", "en": "en/"}  # where each language's pages live in the site
EXTERNAL = re.compile(  # what a browser loads by itself (not links a reader may follow): elements, CSS imports
    r"""<(?:link|script|img|iframe|source|audio|video)\b[^>]*?\b(?:src|href)\s*=\s*["']?(?:https?:)?//"""
    r"""|@import\s+(?:url\()?["']?(?:https?:)?//|url\(["']?(?:https?:)?//"""
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site the real `make docs` recipe builds."""
    built = tmp_path_factory.mktemp("site")
    make("docs", SITE=str(built))
    return built


def html(site: Path, language: str, page: str = guide.GUIDE_PAGE) -> str:
    return (site / PAGES[language] / page / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", guide.LANGUAGES)
def test_the_front_page_leads_to_every_part_of_the_guide(site, language):
    front = (site / PAGES[language] / "index.html").read_text(encoding="utf-8")
    assert f'<html lang="{language}"' in front and f'<html lang="{language}"' in html(site, language)
    assert guide.GUIDE.title[language] in html(site, language)
    for step in guide.GUIDE.steps:
        if step.level in (2, 3):
            assert f'href="{guide.GUIDE_PAGE}/#{step.anchor}"' in front
            assert f'id="{step.anchor}"' in html(site, language)
    assert f'href="{guide.OPS_PAGE}/"' in front  # operators find their page from the front page
    assert guide.OPS_GUIDE.title[language] in html(site, language, guide.OPS_PAGE)


@pytest.mark.parametrize("language", guide.LANGUAGES)
@pytest.mark.parametrize("name", sorted(guide.GUIDES))
def test_the_guide_shows_the_committed_screenshots_of_its_language(site, language, name):
    page = site / PAGES[language] / name / "index.html"
    shown = re.findall(r'<img alt="[^"]+" src="([^"]+)"', page.read_text(encoding="utf-8"))
    assert [Path(src).stem for src in shown] == guide.screenshots(guide.GUIDES[name])
    for src in shown:
        served = (page.parent / src).resolve()
        assert served.read_bytes() == (ROOT / "e2e" / "screenshots" / language / served.name).read_bytes()


@pytest.mark.parametrize("language", guide.LANGUAGES)
def test_steps_are_numbered_and_notes_are_admonitions(site, language):
    page = html(site, language)
    numbered = [step for step in guide.GUIDE.steps if not step.level and not step.callout and step.numbered]
    assert len(re.findall(r'<p><span class="twemoji">', page)) == len(numbered)
    for step in guide.GUIDE.steps:
        if step.callout:
            title = step.title[guide.LANGUAGES.index(language)]
            assert f'<div class="admonition {step.callout}">\n<p class="admonition-title">{title}</p>' in page


@pytest.mark.parametrize("language, other", [("zh", "en"), ("en", "zh")])
def test_each_page_links_to_itself_in_the_other_language(site, language, other):
    target = f"/{PAGES[other]}{guide.GUIDE_PAGE}/"
    assert re.search(rf'href="[./]*{re.escape(target)}" hreflang="{other}"', html(site, language)), target


def test_nothing_is_loaded_from_another_site(site):
    """Fonts, scripts, styles and images all come from the site itself (theme.font is off)."""
    loaded_from_outside = [
        f"{path.relative_to(site)}: {match.group(0)}"
        for path in site.rglob("*")
        if path.suffix in {".html", ".css"}
        for match in EXTERNAL.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not loaded_from_outside


def test_the_search_index_holds_both_languages_with_chinese_split_into_words(site):
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {document["location"].split("#")[0] for document in index["docs"]}
    assert {f"{PAGES[language]}{guide.GUIDE_PAGE}/" for language in guide.LANGUAGES} <= locations
    chinese = next(doc["text"] for doc in index["docs"] if doc["location"] == f"{guide.GUIDE_PAGE}/#register")
    assert "\u200b验证码\u200b" in chinese  # jieba's word boundaries, which the search separator splits on
