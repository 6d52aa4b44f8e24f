"""The activation guide in docs/ is the one e2e/guide.py writes, and it shows every documented screenshot."""

import pytest

from e2e import guide

# The screenshot names the product's documentation uses (SPEC.md; x1/x3: its pages X1, X3), each shown by the guide.
DOCUMENTED = {
    "2-commercial-1107",
    "3-commercial-1107",
    "4-commercial-1107",
    "10.aliyun_market_1",
    "10.aliyun_market_2",
    "17.process_1",
    "10.aliyun_market_3",
    "15.aliyun_register_1",
    "10.market_aliyun_1",
    "15.aliyun_register_6.1",
    "15.aliyun_register_6",
    "15.aliyun_register_7",
    "1-1-commercial-aliyun",
    "15.aliyun_register_5",
    "1-2-commercial-aliyun",
    "15.aliyun_register_3",
    "1-free-start-1109",
    # Pay-as-you-go (not in SPEC.md's list): the console's usage section (U1) and the marketplace's bill (M5).
    "metering-console",
    "metering-bill",
    # After activation (SPEC.md X1, X3): the lock page, the console's banner, the unlock choices.
    "x1-lock-page",
    "x1-lock-banner",
    "x3-unlock-choices",
    # The operations console's page (issue 20): enrolment, an instance found by aliUid, its timeline, the funnel.
    "ops-enrol",
    "ops-instances",
    "ops-timeline",
    "ops-funnel",
    # At phone size (issue 21): 已购买的服务 (M4), G1, B2 and the console, 390 px wide.
    "phone-instances",
    "phone-choose",
    "phone-workspaces",
    "phone-console",
}


def test_the_guide_shows_every_documented_screenshot_once():
    assert sorted(guide.SCREENSHOTS) == sorted(DOCUMENTED)


@pytest.mark.parametrize("path", sorted(guide.pages()), ids=lambda path: path.name)
def test_the_docs_are_up_to_date_with_the_guide(path):
    assert path.read_text(encoding="utf-8") == guide.pages()[path], "run: python -m e2e.guide (or make screenshots)"


def test_the_docs_show_the_screenshots_the_walkthrough_keeps():
    """MkDocs only serves files under docs/: docs/screenshots is a link to e2e/screenshots, not a copy."""
    assert (guide.DOCS / "screenshots").is_symlink()
    assert (guide.DOCS / "screenshots").resolve() == guide.ROOT / "e2e" / "screenshots"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_image_the_docs_show_is_in_the_repository(language):
    for name in guide.SCREENSHOTS:
        assert (guide.ROOT / "e2e" / "screenshots" / language / f"{name}.png").is_file(), name
