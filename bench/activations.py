"""Whole activations under wrk: every customer of a branch walks its segments, one wrk run per segment.

Each wrk connection is one customer at a time (one connection per wrk thread, so the thread's Lua
state is the customer's browser), walking its share of the customers back to back: a closed loop
of `connections` customers in flight. Between segments the benchmark reads the mailed codes
(bench/scenarios.py). With several instances (scale-out), the customers are split between them
and every segment swaps sides, so each customer's session and code cross instances.

Throughput counts only the time wrk was sending: activations / the summed spans of the segments
(first request to last answer). Server CPU is the gunicorn workers' own time over the same runs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .cpu import CpuMeter
from .customers import Customer
from .mail import Inbox
from .scenarios import SEGMENTS, Segment, Walker
from .stats import latency_summary, percentile
from .wrk import Wrk, write_data


@dataclass
class Phase:
    """One segment's wrk runs (one per instance), and what they cost."""

    segment: int
    customers: int
    span: float  # first request to last answer, seconds
    cpu: dict[str, float]  # seconds per role over the phase
    wrk_cpu: float


def run_branch(
    branch: str,
    customers: list[Customer],
    bases: list[str],
    connections: int,
    isv_key: str,
    inbox: Inbox,
    meter: CpuMeter,
    directory: Path,
) -> dict:
    walkers = [Walker.start(customer) for customer in customers]
    phases: list[Phase] = []
    for index, segment in enumerate(SEGMENTS[branch]):
        live = [walker for walker in walkers if walker.failure is None]
        if not live:
            break
        if index == 0:
            for walker in live:
                walker.sign_links(isv_key)
        else:
            _deliver_codes(inbox, SEGMENTS[branch][index - 1].code_to, live)
            live = [walker for walker in live if walker.failure is None]
            if not live:
                break
        phases.append(_run_segment(segment, index, live, bases, connections, meter, directory))
    return summarize(branch, walkers, phases, sum(len(s.steps) for s in SEGMENTS[branch]))


def _deliver_codes(inbox: Inbox, variable: str, walkers: list[Walker]) -> None:
    """The customer reads the code in the mail, as a person would between two pages."""
    codes = inbox.take_codes({walker.variables[variable] for walker in walkers})
    for walker in walkers:
        code = codes.get(walker.variables[variable].lower())
        if code is None:
            walker.failure = f"no code mailed to the {variable.replace('_', ' ')}"
        else:
            walker.variables["code"] = code


def _run_segment(
    segment: Segment, index: int, walkers: list[Walker], bases: list[str], connections: int, meter, directory
) -> Phase:
    groups = [[w for j, w in enumerate(walkers) if (j + index) % len(bases) == side] for side in range(len(bases))]
    runs = []
    before = meter.read()
    try:
        for base, group in zip(bases, groups, strict=True):
            if group:
                runs.append(_start(segment, index, group, base, max(1, connections // len(bases)), directory))
        _wait_for(runs)
    except BaseException:
        for wrk, *_ in runs:
            wrk.kill()
        raise
    outcomes = [(wrk.finish(), prefix, group) for wrk, prefix, group, _threads in runs]
    spent = CpuMeter.spent(before, meter.read())
    first, last = [], []
    for outcome, prefix, group in outcomes:
        for start, end in _collect(prefix, group, segment, _unfinished(outcome)):
            first.append(start)
            last.append(end)
    span = max(last) - min(first) if first else 0.0
    return Phase(index, len(walkers), span, spent, sum(outcome.cpu_seconds for outcome, *_ in outcomes))


def _start(segment: Segment, index: int, group: list[Walker], base: str, connections: int, directory: Path):
    threads = min(connections, len(group))
    prefix = directory / f"segment{index}-{time.monotonic_ns()}"
    data = {
        "out": str(prefix),
        "carry": list(segment.carry),
        "steps": segment.steps,
        "customers": [{"n": n, "c": w.cookies, "v": w.variables} for n, w in enumerate(group)],
    }
    # A bound, not a measure: each thread stops when its customers are done (10 s each at worst).
    cap = 60 + 10 * len(segment.steps) * -(-len(group) // threads)
    wrk = Wrk("flow.lua", base, write_data(directory, data), threads, threads, cap).start()
    return wrk, prefix, group, threads


def _wait_for(runs: list, poll: float = 0.02) -> None:
    """Until every thread of every run has said it is done (or wrk ended at its cap)."""
    pending = list(runs)
    while pending:
        time.sleep(poll)
        for run in list(pending):
            wrk, prefix, _group, threads = run
            done = len(list(prefix.parent.glob(f"{prefix.name}.done.*")))
            if done >= threads or wrk.exited():
                wrk.interrupt()
                pending.remove(run)


def _unfinished(outcome) -> str:
    """Why a customer has no line: wrk's time limit, or wrk itself failing (a Lua error ends it)."""
    if outcome.exit_code in (0, -2):  # -2: the SIGINT that ends wrk's sleep
        return "still walking when wrk's time limit ended the run"
    last = (outcome.output.strip().splitlines() or ["no output"])[-1]
    return f"wrk ended with status {outcome.exit_code}: {last[:120]}"


def _collect(prefix: Path, group: list[Walker], segment: Segment, unfinished: str):
    """Read flow.lua's lines back into the walkers; yield each customer's (start, end)."""
    routes = [step["r"] for step in segment.steps]
    seen = set()
    for path in prefix.parent.glob(f"{prefix.name}.[0-9]*"):
        for line in path.read_text(encoding="utf-8").splitlines():
            n, outcome, start, end, cookies, carried, seconds = line.split("\t")
            walker = group[int(n)]
            seen.add(int(n))
            if outcome != "ok":
                walker.failure = outcome
            walker.cookies = dict(pair.split("=", 1) for pair in cookies.split("; ") if pair)
            walker.variables.update(pair.split("=", 1) for pair in carried.split("&") if pair)
            timings = [float(value) for value in seconds.split(",") if value]
            walker.steps += list(zip(routes, timings, strict=False))
            walker.seconds.append(float(end) - float(start))
            yield float(start), float(end)
    for n, walker in enumerate(group):
        if n not in seen:
            walker.failure = unfinished


def summarize(branch: str, walkers: list[Walker], phases: list[Phase], requests_per_activation: int) -> dict:
    completed = [walker for walker in walkers if walker.failure is None]
    busy = sum(phase.span for phase in phases)
    durations = sorted(sum(walker.seconds) for walker in completed)
    cpu = Counter()
    for phase in phases:
        cpu.update(phase.cpu)
    done = len(completed)
    return {
        "branch": branch,
        "customers": len(walkers),
        "completed": done,
        "failed": len(walkers) - done,
        "failures": dict(Counter(walker.failure for walker in walkers if walker.failure).most_common(8)),
        "requests_per_activation": requests_per_activation,
        "busy_seconds": round(busy, 3),
        "activations_per_s": done / busy if busy else 0.0,
        "activation_p50_ms": percentile(durations, 0.50) * 1000,
        "activation_p95_ms": percentile(durations, 0.95) * 1000,
        "cpu_seconds": dict(cpu),
        "wrk_cpu_seconds": round(sum(phase.wrk_cpu for phase in phases), 3),
        "cpu_ms_per_activation": {role: seconds * 1000 / done for role, seconds in cpu.items()} if done else {},
        "wrk_cpu_ms_per_activation": sum(phase.wrk_cpu for phase in phases) * 1000 / done if done else None,
        "phases": [
            {
                "segment": phase.segment,
                "customers": phase.customers,
                "span_seconds": round(phase.span, 3),
                "server_cpu_ms_per_customer": phase.cpu["server"] * 1000 / phase.customers,
            }
            for phase in phases
        ],
        "routes": _routes(walkers, busy),
    }


def _routes(walkers: list[Walker], busy: float) -> list[dict]:
    """Latency per route, in the order of the flow."""
    by_route: dict[str, list[float]] = {}
    for walker in walkers:
        for route, seconds in walker.steps:
            by_route.setdefault(route, []).append(seconds)
    return [{"route": route, **latency_summary(times, busy)} for route, times in by_route.items()]
