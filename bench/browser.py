"""The benchmark's browser: the customer driver's (devtools/customer.py) over HTTP, every request timed.

Pages are read with the driver's HTML parser; the samples say how long each route took, for the
Python-side walks (the page sweep's preparation, the scale-out test).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx

from devtools import customer
from devtools.pages import FlowError

__all__ = ["Browser", "FlowError", "Recorder", "Sample", "route_of"]

# Path segments that are ids, so /bind/workspaces/17 and /bind/workspaces/18 are one route.
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
# Query parameters that select a different page (B2a's tab, the bind guide reopened); the rest are data.
_PAGE_PARAMETERS = {"tab": None, "guide": None, "action": None}


def route_of(method: str, url: str) -> str:
    """Group a request by route template: ids become <id>, page-selecting query parameters stay."""
    parts = urlsplit(url)
    path = _ID_SEGMENT.sub("/<id>", parts.path)
    shown = []
    for name, value in parse_qsl(parts.query):
        if name in _PAGE_PARAMETERS:
            shown.append(f"{name}={_PAGE_PARAMETERS[name] or value}")
    return f"{method} {path}" + (f"?{'&'.join(shown)}" if shown else "")


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


class TimedTransport(customer.HttpTransport):
    """HTTP alternating between the instances, each request's time recorded under its route."""

    def __init__(self, bases: list[str], recorder: Recorder, timeout: float = 30.0) -> None:
        super().__init__(bases, timeout)
        self.recorder = recorder

    def send(self, method: str, url: str, headers: dict, **options) -> httpx.Response:
        started = time.perf_counter()
        response = super().send(method, url, headers, **options)
        self.recorder.add(Sample(route_of(method, url), response.status_code, started, time.perf_counter() - started))
        return response


class Browser(customer.Browser):
    """One simulated customer's browser; with several base URLs it alternates request by request."""

    def __init__(self, bases: list[str], recorder: Recorder | None = None, timeout: float = 30.0) -> None:
        super().__init__(TimedTransport(bases, recorder or Recorder(), timeout))

    @property
    def recorder(self) -> Recorder:
        return self.transport.recorder
