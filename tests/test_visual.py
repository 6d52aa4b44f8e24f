"""The screenshot comparison (e2e/visual.py): noise passes, a visible change fails with images to look at,
and UPDATE_SCREENSHOTS=1 replaces only what changed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from e2e import visual

SIZE = (400, 300)  # 120,000 pixels: MAX_CHANGED_FRACTION allows 2


def screenshot(change=None, size=SIZE) -> bytes:
    """A page-like picture: a white page, a blue button, grey text lines; `change(draw)` alters it."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 160, 72), fill=(47, 97, 204))
    for top in range(100, 260, 20):
        draw.rectangle((40, top, 360, top + 8), fill=(92, 99, 112))
    if change:
        change(draw)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def committed(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(visual, "ARTIFACTS", tmp_path / "artifacts")
    monkeypatch.delenv("UPDATE_SCREENSHOTS", raising=False)
    reference = tmp_path / "screenshots" / "zh" / "10.aliyun_market_2.png"
    reference.parent.mkdir(parents=True)
    reference.write_bytes(screenshot())
    return reference


def artifacts(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in (tmp_path / "artifacts" / "zh").glob("*"))


def test_the_same_picture_matches_and_leaves_nothing_behind(committed, tmp_path):
    assert visual.check(committed, screenshot()) is None
    assert not (tmp_path / "artifacts").exists()


def test_antialiasing_noise_matches(committed):
    """Every text pixel one or a few levels off, as between two renderings of the same page."""

    def noise(draw):
        for top in range(100, 260, 20):
            draw.rectangle((40, top, 360, top + 8), fill=(92 + visual.CHANNEL_TOLERANCE, 99, 112))

    assert visual.check(committed, screenshot(noise)) is None


def test_a_changed_colour_fails_with_expected_actual_and_difference_images(committed, tmp_path):
    before = committed.read_bytes()
    change = visual.check(committed, screenshot(lambda draw: draw.rectangle((40, 40, 160, 72), fill=(58, 111, 216))))
    assert change.startswith("zh/10.aliyun_market_2.png: 3993 of 120000 pixels changed")
    assert artifacts(tmp_path) == [f"10.aliyun_market_2.{kind}.png" for kind in ("actual", "diff", "expected")]
    with Image.open(tmp_path / "artifacts" / "zh" / "10.aliyun_market_2.diff.png") as difference:
        assert difference.getpixel((100, 56)) == visual.HIGHLIGHT  # the button, marked
        assert difference.getpixel((200, 20)) != visual.HIGHLIGHT  # the unchanged page around it
    assert committed.read_bytes() == before


def test_one_changed_character_fails(committed):
    """A 3x4-pixel glyph-sized change: more than the allowance of a couple of pixels."""
    assert visual.check(committed, screenshot(lambda draw: draw.rectangle((370, 100, 372, 103), fill="black")))


def test_a_changed_size_fails(committed, tmp_path):
    change = visual.check(committed, screenshot(size=(400, 320)))
    assert change.startswith("zh/10.aliyun_market_2.png: size (400, 300) -> (400, 320)")
    assert artifacts(tmp_path) == ["10.aliyun_market_2.actual.png", "10.aliyun_market_2.expected.png"]


def test_a_missing_screenshot_fails_unless_updating(committed, monkeypatch):
    missing = committed.with_name("17.process_1.png")
    assert "none committed" in visual.check(missing, screenshot())
    assert not missing.exists()
    monkeypatch.setenv("UPDATE_SCREENSHOTS", "1")
    assert visual.check(missing, screenshot()) is None
    assert missing.read_bytes() == screenshot()


def test_updating_replaces_a_changed_screenshot_and_keeps_an_unchanged_one(committed, monkeypatch, tmp_path):
    monkeypatch.setenv("UPDATE_SCREENSHOTS", "1")
    noisy = screenshot(lambda draw: draw.point((0, 0), fill=(254, 255, 255)))
    assert visual.check(committed, noisy) is None
    assert committed.read_bytes() == screenshot()  # no churn of binary files in git
    changed = screenshot(lambda draw: draw.rectangle((40, 40, 160, 72), fill="orange"))
    assert visual.check(committed, changed) is None
    assert committed.read_bytes() == changed
    assert not (tmp_path / "artifacts").exists()
