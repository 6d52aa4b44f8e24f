"""Numbers from timings: percentiles, requests per second, ratios to the floors."""

from __future__ import annotations

import math

# Routes whose handling hashes a password (werkzeug's scrypt): reported apart, with the hash's cost.
HASHING_ROUTES = ("POST /workspace/new?tab=register", "POST /register/basic", "POST /login/pwd")


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_summary(seconds: list[float], busy: float) -> dict:
    times = sorted(seconds)
    return {
        "requests": len(times),
        "rps": len(times) / busy if busy > 0 else 0.0,
        "p50_ms": percentile(times, 0.50) * 1000,
        "p95_ms": percentile(times, 0.95) * 1000,
        "p99_ms": percentile(times, 0.99) * 1000,
    }


def ratios(rps: float, floor_pages: list[dict] | None) -> dict:
    """Throughput as a fraction of each floor's (bare endpoint, template + CSRF form)."""
    floors = {page["route"]: page["rps"] for page in floor_pages or []}
    return {
        "x_bare": rps / floors["GET /bare"] if floors.get("GET /bare") else None,
        "x_form": rps / floors["GET /form"] if floors.get("GET /form") else None,
    }
