"""Numbers from samples: requests per second and latency percentiles, per route; ratios to the floors."""

from __future__ import annotations

import math
from collections import defaultdict

from .browser import Sample
from .customers import Pool
from .load import RunResult
from .pages import PageRun

# Routes whose handling hashes a password (werkzeug's scrypt): reported apart, with the hash's cost.
HASHING_ROUTES = ("POST /workspace/new?tab=register", "POST /register/basic", "POST /login/pwd")


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency(samples: list[Sample], seconds: float) -> dict:
    times = sorted(s.seconds for s in samples)
    return {
        "requests": len(times),
        "rps": len(times) / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(times, 0.50) * 1000,
        "p95_ms": percentile(times, 0.95) * 1000,
        "p99_ms": percentile(times, 0.99) * 1000,
        "errors": sum(1 for s in samples if s.status >= 400),
    }


def ratios(rps: float, floor_pages: list[dict] | None) -> dict:
    """Throughput as a fraction of each floor's (bare endpoint, template + CSRF form)."""
    floors = {page["route"]: page["rps"] for page in floor_pages or []}
    return {
        "x_bare": rps / floors["GET /bare"] if floors.get("GET /bare") else None,
        "x_form": rps / floors["GET /form"] if floors.get("GET /form") else None,
    }


def page_summary(run: PageRun, floor_pages: list[dict] | None) -> dict:
    stats = latency(run.result.samples, run.result.window.seconds)
    return {
        "name": run.page.name,
        "route": run.page.route,
        "users": run.result.users,
        "seconds": run.result.window.seconds,
        **stats,
        **ratios(stats["rps"], floor_pages),
        "failures": dict(run.result.failures),
    }


def route_summaries(samples: list[Sample], seconds: float, floor_pages: list[dict]) -> list[dict]:
    """Per route template, in the order the flow first requests them."""
    by_route: dict[str, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.started):
        by_route[sample.route].append(sample)
    summaries = []
    for route, route_samples in by_route.items():
        stats = latency(route_samples, seconds)
        summaries.append(
            {"route": route, **stats, **ratios(stats["rps"], floor_pages), "hashes_password": route in HASHING_ROUTES}
        )
    return summaries


def branch_summary(branch: str, run: RunResult, pool: Pool, floor_pages: list[dict]) -> dict:
    durations = sorted(run.durations)
    seconds = run.window.seconds
    return {
        "branch": branch,
        "users": run.users,
        "seconds": seconds,
        "completed": run.completed,
        "finished_late": run.finished_late,
        "failed": run.failed,
        "failures": dict(run.failures),
        "activations_per_s": run.completed / seconds if seconds > 0 else 0.0,
        "activation_p50_ms": percentile(durations, 0.50) * 1000,
        "activation_p95_ms": percentile(durations, 0.95) * 1000,
        "customers_used_up": pool.used >= pool.size,
        "routes": route_summaries(run.samples, seconds, floor_pages),
    }
