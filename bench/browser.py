"""A browser, as far as the benchmark needs one: cookies, CSRF tokens from forms, timed requests."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlsplit

import httpx

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Path segments that are ids, so /bind/workspaces/17 and /bind/workspaces/18 are one route.
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
# Query parameters that select a different page (B2a's tab, the bind guide reopened); the rest are data.
_PAGE_PARAMETERS = {"tab": None, "guide": None, "action": None}


class FlowError(AssertionError):
    """A page did not answer as a browser walking the flow expects; the activation failed."""


class CookieJar:
    """The cookies of one site, kept as a browser keeps them for http://127.0.0.1.

    Browsers treat loopback as a secure context, so the product's Secure cookies (production
    profile) are stored and sent back over plain HTTP here. httpx's own jar would drop them: it
    follows the older rule that Secure cookies travel over https only. Every cookie the product
    sets is host-only with Path=/, so a name-to-value map is all the state there is.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.values.items())} if self.values else {}

    def remember(self, response: httpx.Response) -> None:
        for line in response.headers.get_list("set-cookie"):
            cookie = SimpleCookie()
            cookie.load(line)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:  # how Flask deletes a cookie
                    self.values.pop(name, None)
                else:
                    self.values[name] = morsel.value

    def clear(self) -> None:
        self.values.clear()


def route_of(method: str, url: str) -> str:
    """Group a request by route template: ids become <id>, page-selecting query parameters stay."""
    parts = urlsplit(url)
    path = _ID_SEGMENT.sub("/<id>", parts.path)
    shown = []
    for name, value in parse_qsl(parts.query):
        if name in _PAGE_PARAMETERS:
            shown.append(f"{name}={_PAGE_PARAMETERS[name] or value}")
    return f"{method} {path}" + (f"?{'&'.join(shown)}" if shown else "")


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise FlowError("the page has no CSRF token")
    return match.group(1)


@dataclass
class Sample:
    route: str
    status: int
    started: float  # perf_counter at the start
    seconds: float


@dataclass
class Recorder:
    """Samples of one user thread (no lock needed); merged after the run."""

    samples: list[Sample] = field(default_factory=list)
    enabled: bool = True

    def add(self, sample: Sample) -> None:
        if self.enabled:
            self.samples.append(sample)


class Browser:
    """One simulated customer's browser; with several base URLs it alternates request by request."""

    def __init__(self, bases: list[str], recorder: Recorder | None = None, timeout: float = 30.0) -> None:
        self.bases = itertools.cycle(bases)
        self.recorder = recorder or Recorder()
        self.http = httpx.Client(timeout=timeout, follow_redirects=False)
        self.cookies = CookieJar()

    def close(self) -> None:
        self.http.close()

    def forget(self) -> None:
        """A new customer at the same keyboard: no cookies from the previous one."""
        self.cookies.clear()

    def request(self, method: str, path: str, route: str | None = None, **kwargs) -> httpx.Response:
        """One timed request to the next instance; `path` is relative to the product's root."""
        url = next(self.bases) + path
        headers = {**kwargs.pop("headers", {}), **self.cookies.header()}
        started = time.perf_counter()
        response = self.http.request(method, url, headers=headers, **kwargs)
        elapsed = time.perf_counter() - started
        self.cookies.remember(response)
        self.recorder.add(Sample(route or route_of(method, path), response.status_code, started, elapsed))
        return response

    def get(self, path: str, expect: int = 200, **kwargs) -> httpx.Response:
        return self.expect(self.request("GET", path, **kwargs), expect)

    def post(self, path: str, expect: int = 302, **kwargs) -> httpx.Response:
        return self.expect(self.request("POST", path, **kwargs), expect)

    def submit(self, page: httpx.Response, path: str, data: dict, expect: int = 302) -> httpx.Response:
        """Post a form with the CSRF token of the page it is on."""
        return self.post(path, expect=expect, data={"csrf_token": csrf_token(page.text), **data})

    def follow(self, response: httpx.Response, expect: int = 200) -> httpx.Response:
        """Follow one redirect, as the browser would, to wherever it points on this site."""
        return self.get(location(response), expect=expect)

    @staticmethod
    def expect(response: httpx.Response, status: int) -> httpx.Response:
        if response.status_code != status:
            where = response.headers.get("location", "")
            raise FlowError(
                f"{response.request.method} {response.request.url.raw_path.decode()} answered "
                f"{response.status_code} (expected {status}) {where}".rstrip()
            )
        return response


def location(response: httpx.Response) -> str:
    """The redirect's target as a path on this site."""
    target = urlsplit(response.headers["location"])
    return target.path + (f"?{target.query}" if target.query else "")
