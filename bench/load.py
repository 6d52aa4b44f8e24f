"""Closed-loop load: N user threads, each with its own browser, repeating work until a deadline."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .browser import Browser, FlowError, Sample
from .customers import Pool
from .flows import BRANCH_FLOWS, Marketplace


@dataclass
class Window:
    """The measured interval of a run, on the perf_counter clock."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def holds(self, sample: Sample) -> bool:
        return self.start <= sample.started < self.end


@dataclass
class RunResult:
    users: int
    window: Window
    samples: list[Sample]
    completed: int = 0  # whole units of work (activations) that finished inside the window
    finished_late: int = 0  # ... that finished after the deadline (in flight at its end)
    durations: list[float] = field(default_factory=list)  # seconds each completed one took
    failures: Counter = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def run_users(
    browsers: list[Browser],
    work: Callable[[Browser], bool | None],
    duration: float,
    warmup: float = 0.0,
    max_seconds: float | None = None,
) -> RunResult:
    """Each browser's thread calls work(browser) until the deadline or until work returns False.

    Samples and completions count from `warmup` seconds after the start; the run is bounded by
    `duration` (no new work after it) and `max_seconds` (threads are abandoned after it).
    """
    for browser in browsers:
        browser.recorder.samples.clear()
    started = time.perf_counter()
    window = Window(started + warmup, started + warmup + duration)
    result = RunResult(users=len(browsers), window=window, samples=[])
    lock = threading.Lock()

    def user(browser: Browser) -> None:
        while time.perf_counter() < window.end:
            begun = time.perf_counter()
            try:
                if work(browser) is False:
                    return
            except (FlowError, LookupError, OSError) as error:  # OSError covers httpx's transport errors
                with lock:
                    result.failures[_reason(error)] += 1
                continue
            ended = time.perf_counter()
            with lock:  # throughput counts what finished inside the window, whenever it began
                if window.start <= ended < window.end:
                    result.completed += 1
                    result.durations.append(ended - begun)
                elif ended >= window.end:
                    result.finished_late += 1

    threads = [threading.Thread(target=user, args=(b,), daemon=True) for b in browsers]
    for thread in threads:
        thread.start()
    limit = max_seconds if max_seconds is not None else warmup + duration + 60
    for thread in threads:
        thread.join(max(0.0, started + limit - time.perf_counter()))
    if any(thread.is_alive() for thread in threads):
        result.failures["still running at the time limit"] += sum(t.is_alive() for t in threads)
    result.samples = [s for b in browsers for s in b.recorder.samples if window.holds(s)]
    return result


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) < 160 else text[:157] + "..."


def hammer(browsers: list[Browser], paths: list[str], route: str, duration: float, warmup: float) -> RunResult:
    """Every user GETs its page (paths[i]) again and again, with the session it was prepared with."""
    path_of = {id(browser): path for browser, path in zip(browsers, paths, strict=True)}

    def one_view(browser: Browser) -> None:
        browser.get(path_of[id(browser)], route=route)

    return run_users(browsers, one_view, duration, warmup)


def activate(
    browsers: list[Browser], branch: str, pool: Pool, market: Marketplace, duration: float, warmup: float
) -> RunResult:
    """Every user runs whole activations of one branch, a new customer each time, until the deadline."""
    flow = BRANCH_FLOWS[branch]

    def one_activation(browser: Browser) -> bool | None:
        customer = pool.take()
        if customer is None:  # every seeded customer is used: the run is bounded in count too
            return False
        browser.forget()
        flow(browser, customer, market)

    return run_users(browsers, one_activation, duration, warmup)
