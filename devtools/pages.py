"""A page as the customer's browser received it, read with an HTML parser (BeautifulSoup over lxml).

What tests, the hardening suite and the benchmark read from a page: its status, where it redirects,
the CSRF token, a form's current values, the error next to a field, the flashes, the 获取验证码
status, the headings. Nothing here knows a transport: bench/, tests/ and the live e2e servers all
hand their answers to `Page`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

# The page's own form: not the header's language switch nor B0's 站点 selector beside it.
PAGE_FORM = "main form:not(.site-switch)"


class FlowError(AssertionError):
    """The product did not answer as a customer walking the flow expects."""


@dataclass(frozen=True)
class CodeStatus:
    """The live region next to 获取验证码: "ok", "error" or "" (nothing said yet), and its text."""

    state: str
    text: str
    retry_after: int | None = None


class Page:
    """One answer: status, headers, body; the HTML document is parsed the first time it is read."""

    def __init__(self, status: int, headers, body: str, url: str = "", raw: Any = None) -> None:
        self.status, self.headers, self.text, self.url = status, headers, body, url
        self.raw = raw  # the transport's own response object, for what a Page does not model

    @classmethod
    def of(cls, response: Any, url: str = "") -> Page:
        """A Page of a response a test already holds (Flask's test client, httpx), or the Page itself."""
        if isinstance(response, Page):
            return response
        if hasattr(response, "get_data"):  # werkzeug's
            return cls(response.status_code, response.headers, response.get_data(as_text=True), url, response)
        return cls(response.status_code, response.headers, response.text, url, response)

    def __repr__(self) -> str:
        where = f" -> {self.location}" if self.location else ""
        return f"<Page {self.status} {self.url}{where}>"

    # ---- The answer ----

    @property
    def location(self) -> str | None:
        """Where a redirect sends the browser, as the product wrote it (a path for every wizard redirect)."""
        return self.headers.get("Location")

    @property
    def path(self) -> str | None:
        """The redirect's target as a path and query, wherever it points."""
        if self.location is None:
            return None
        target = urlsplit(self.location)
        return target.path + (f"?{target.query}" if target.query else "")

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400 and self.location is not None

    @cached_property
    def json(self) -> Any:
        return json.loads(self.text)

    def expect(self, status: int | None = None, at: str | None = None, says: str | None = None) -> Page:
        """This page, when it has the status, redirects to `at` and shows `says`; FlowError otherwise."""
        if status is not None and self.status != status:
            raise FlowError(f"{self.url} answered {self.status}, expected {status} {self._where()}".rstrip())
        if at is not None and self.location != at:
            raise FlowError(f"{self.url} sent the customer to {self.location}, expected {at}")
        if says is not None and says not in self.text:
            raise FlowError(f"{self.url} does not say {says!r}")
        return self

    def _where(self) -> str:
        return f"(to {self.location})" if self.location else self.title

    # ---- The document ----

    @cached_property
    def doc(self) -> BeautifulSoup:
        return BeautifulSoup(self.text, "lxml")

    def find(self, selector: str) -> Tag | None:
        """The first element matching a CSS selector."""
        return self.doc.select_one(selector)

    def find_all(self, selector: str) -> list[Tag]:
        return self.doc.select(selector)

    def text_of(self, selector: str) -> str:
        """The visible text of the first element matching `selector`, whitespace collapsed ("" if none)."""
        return words(self.find(selector))

    def texts_of(self, selector: str) -> list[str]:
        return [words(element) for element in self.find_all(selector)]

    def links(self, selector: str = "a[href]") -> list[str]:
        return [element["href"] for element in self.find_all(selector)]

    def link(self, selector: str) -> str:
        """The href of the first link matching `selector`; FlowError when the page has none."""
        found = self.find(selector)
        if found is None or not found.get("href"):
            raise FlowError(f"{self.url} has no link {selector}")
        return found["href"]

    @property
    def title(self) -> str:
        """The page's main heading."""
        return self.text_of("h1")

    @property
    def headings(self) -> list[str]:
        return self.texts_of("h1, h2, h3")

    @property
    def lang(self) -> str | None:
        html = self.find("html")
        return html.get("lang") if html is not None else None

    # ---- Forms ----

    @property
    def csrf_token(self) -> str:
        field = self.find("input[name=csrf_token]")
        if field is None or not field.get("value"):
            raise FlowError(f"{self.url} has no CSRF token")
        return field["value"]

    def form(self, selector: str = PAGE_FORM) -> Form:
        element = self.find(selector)
        if element is None:
            raise FlowError(f"{self.url} has no form {selector}")
        return Form(element)

    def field(self, name_or_id: str) -> Tag | None:
        """The input, select or textarea with this id (else this name)."""
        for attribute in ("id", "name"):
            found = self.doc.find(["input", "select", "textarea"], attrs={attribute: name_or_id})
            if found is not None:
                return found
        return None

    def value(self, name_or_id: str) -> str | None:
        """What the field shows: the value typed or kept, the option selected; None without a value."""
        element = self.field(name_or_id)
        return field_value(element) if element is not None else None

    def checked(self, name_or_id: str) -> bool:
        element = self.field(name_or_id)
        return element is not None and element.has_attr("checked")

    def error(self, field: str) -> str:
        """The message next to a field (its `#<id>-error`), "" when there is none."""
        return self.text_of(f"#{field}-error")

    @property
    def errors(self) -> dict[str, str]:
        """Every field's error: id -> message."""
        return {element["id"].removesuffix("-error"): words(element) for element in self.find_all(".field-error[id]")}

    @property
    def flashes(self) -> list[tuple[str, str]]:
        """(category, text) of each flashed message, in order."""
        found = []
        for element in self.find_all(".flashes .flash"):
            category = next((c.removeprefix("flash-") for c in element["class"] if c.startswith("flash-")), "")
            found.append((category, words(element)))
        return found

    def flashed(self, category: str | None = None) -> str:
        """The text of every flash (of `category`: "success", "error" ...), one line each."""
        return "\n".join(text for kind, text in self.flashes if category in (None, kind))

    def rows(self, selector: str = "table") -> list[list[str]]:
        """A table's body as its reader sees it: the text of each cell, row by row."""
        table = self.find(selector)
        body = table.find("tbody") if table is not None else None
        return [[words(cell) for cell in row.find_all(["td", "th"])] for row in (body or table or []).find_all("tr")]

    @property
    def code_status(self) -> CodeStatus:
        element = self.find("#code-status")
        if element is None:
            raise FlowError(f"{self.url} has no 获取验证码 status")
        classes = element.get("class", [])
        state = "ok" if "code-status-ok" in classes else "error" if "code-status-error" in classes else ""
        button = self.find("[data-code-send]")
        retry = button.get("data-retry-after") if button is not None else None
        return CodeStatus(state, words(element), int(retry) if retry else None)

    @property
    def current_step(self) -> str:
        """The step indicator's current step (its label)."""
        return self.text_of('.steps [aria-current="step"] .step-label')


class Form:
    """A form of the page: where it posts, and the values a browser would send as it stands."""

    def __init__(self, element: Tag) -> None:
        self.element = element

    @property
    def action(self) -> str | None:
        return self.element.get("action")

    @property
    def values(self) -> dict[str, str]:
        """name -> value of what the form would send unchanged (checked boxes, selected options)."""
        values: dict[str, str] = {}
        for element in self.element.find_all(["input", "select", "textarea"]):
            name = element.get("name")
            if not name or element.has_attr("disabled") or not _sent(element):
                continue
            values.setdefault(name, field_value(element) or "")
        return values

    def submit_buttons(self) -> list[Tag]:
        """The form's submit buttons in document order (Enter in a field presses the first)."""
        found = self.element.find_all(["button", "input"])
        return [b for b in found if (b.get("type") or ("submit" if b.name == "button" else "")) == "submit"]


def _sent(element: Tag) -> bool:
    kind = (element.get("type") or "").lower()
    if kind in ("submit", "button", "reset", "image", "file"):
        return False
    return kind not in ("checkbox", "radio") or element.has_attr("checked")


def field_value(element: Tag) -> str | None:
    if element.name == "textarea":
        return element.get_text()
    if element.name == "select":
        chosen = element.find("option", selected=True) or element.find("option")
        return (chosen.get("value") if chosen.has_attr("value") else chosen.get_text()) if chosen else None
    if (element.get("type") or "").lower() in ("checkbox", "radio") and not element.has_attr("value"):
        return "on"
    return element.get("value")


def words(element: Tag | None) -> str:
    """An element's text as a reader hears it: whitespace collapsed, without what is aria-hidden
    (decorations such as step numbers) and without comments or scripts."""
    if element is None:
        return ""
    texts = [text for text in element.find_all(string=True) if type(text) is NavigableString and _heard(text, element)]
    return " ".join(" ".join(texts).split())


def _heard(text: NavigableString, within: Tag) -> bool:
    for parent in text.parents:
        if parent.get("aria-hidden") == "true":
            return False
        if parent is within:
            return True
    return True
