"""Visual regression for the documented screenshots: a new picture is compared with the committed one.

The walkthrough renders the same pages with fixed clocks, codes and data, so two runs differ by at most
a few antialiasing levels (measured: one level on 21 pixels). A pixel counts as changed when one of its
channels moved by more than CHANNEL_TOLERANCE; the picture has changed when more than
MAX_CHANGED_FRACTION of its pixels did, or when its size differs. Then the expected, actual and
difference images are saved under e2e/artifacts/screenshots/<language>/ and the walkthrough fails,
listing every changed picture (the walk goes on, so one style change shows everything it touched).

With UPDATE_SCREENSHOTS=1 (`make screenshots`) a changed or missing picture replaces the committed one
instead; an unchanged one is left alone, so rerunning does not churn binary files in git.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
CHANNEL_TOLERANCE = 6  # of 255: reruns differ by 1 at most; a colour change anyone could see moves more
MAX_CHANGED_FRACTION = 0.00002  # about 20 pixels of a 1280x800 screenshot: less than one changed character
HIGHLIGHT = (255, 0, 64)


@dataclass(frozen=True)
class Comparison:
    changed_pixels: int
    total_pixels: int
    size_changed: bool = False

    @property
    def matches(self) -> bool:
        return not self.size_changed and self.changed_pixels <= self.total_pixels * MAX_CHANGED_FRACTION


def updating() -> bool:
    return os.environ.get("UPDATE_SCREENSHOTS") == "1"


def compare(expected: Image.Image, actual: Image.Image) -> Comparison:
    if expected.size != actual.size:
        return Comparison(0, expected.width * expected.height, size_changed=True)
    return Comparison(changed_mask(expected, actual).histogram()[255], expected.width * expected.height)


def changed_mask(expected: Image.Image, actual: Image.Image) -> Image.Image:
    """255 where a pixel changed beyond the tolerance in any channel, 0 elsewhere."""
    red, green, blue = ImageChops.difference(expected.convert("RGB"), actual.convert("RGB")).split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return largest.point(lambda level: 255 if level > CHANNEL_TOLERANCE else 0)


def difference_image(expected: Image.Image, actual: Image.Image) -> Image.Image:
    """The expected picture faded, with every changed pixel in a loud colour."""
    faded = Image.blend(expected.convert("RGB"), Image.new("RGB", expected.size, "white"), 0.7)
    faded.paste(HIGHLIGHT, mask=changed_mask(expected, actual))
    return faded


def save_artifacts(reference: Path, expected: Image.Image, actual: Image.Image, size_changed: bool) -> Path:
    folder = ARTIFACTS / reference.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    expected.save(folder / f"{reference.stem}.expected.png")
    actual.save(folder / f"{reference.stem}.actual.png")
    if not size_changed:
        difference_image(expected, actual).save(folder / f"{reference.stem}.diff.png")
    return folder


def check(reference: Path, png: bytes, ignored: list[tuple[int, int, int, int]] = ()) -> str | None:
    """Compare a new screenshot (PNG bytes) with the committed `reference`: None when it matches (or was
    replaced, with UPDATE_SCREENSHOTS=1), otherwise what changed and where the images are. `ignored`
    boxes (left, top, right, bottom) are not compared: parts that change by themselves."""
    actual = Image.open(io.BytesIO(png))
    if not reference.is_file():
        return write(reference, png) if updating() else f"{label(reference)}: none committed; run `make screenshots`"
    with Image.open(reference) as committed:
        expected = committed.convert("RGB")
    result = compare(expected, without(actual.convert("RGB"), expected, ignored))
    if result.matches:
        return None
    if updating():
        return write(reference, png)
    folder = save_artifacts(reference, expected, actual.convert("RGB"), result.size_changed)
    if result.size_changed:
        return f"{label(reference)}: size {expected.size} -> {actual.size}; see {folder}"
    return f"{label(reference)}: {result.changed_pixels} of {result.total_pixels} pixels changed; see {folder}"


def without(actual: Image.Image, expected: Image.Image, ignored) -> Image.Image:
    """`actual` with the expected picture's pixels in the ignored boxes."""
    if not ignored or actual.size != expected.size:
        return actual
    patched = actual.copy()
    for box in ignored:
        patched.paste(expected.crop(box), box[:2])
    return patched


def label(reference: Path) -> str:
    return f"{reference.parent.name}/{reference.name}"


def write(reference: Path, png: bytes) -> None:
    reference.parent.mkdir(parents=True, exist_ok=True)
    reference.write_bytes(png)
    return None
