"""Pages alone: every GET page of the wizard hammered by wrk, each connection's requests carrying
the session of a customer that Python brought to that step by walking the real flow.

Sessions are prepared first (bench/flows.py, httpx, not measured); then wrk sends only GETs with
their cookies (bench/wrk/pages.lua), and the gunicorn workers' CPU time is read around the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import flows
from .browser import Browser, FlowError
from .cpu import CpuMeter
from .customers import Pool
from .flows import Marketplace
from .wrk import Wrk, write_data


@dataclass(frozen=True)
class Load:
    """How a page is hammered: wrk's connections and threads, warm-up and measured seconds."""

    connections: int = 16
    threads: int = 2
    seconds: float = 3.0
    warmup: float = 1.0


@dataclass(frozen=True)
class Page:
    name: str  # the documentation's name of the page
    route: str  # the route template it is reported under


def session(browser: Browser, path: str) -> dict:
    return {"path": path, "cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies().items())}


def hammer(base: str, page: Page, sessions: list[dict], load: Load, meter: CpuMeter, directory: Path) -> dict:
    """wrk on one page: a warm-up run (not counted), then the measured run with the CPU read around it."""
    data_file = write_data(directory, {"expect": 200, "sessions": sessions})
    threads = min(load.threads, load.connections)
    if load.warmup > 0:
        Wrk("pages.lua", base, data_file, threads, load.connections, load.warmup).start().finish()
    before = meter.read()
    outcome = Wrk("pages.lua", base, data_file, threads, load.connections, load.seconds).start().finish()
    spent = CpuMeter.spent(before, meter.read())
    line = outcome.bench_line()
    requests, seconds = line["requests"], line["duration_us"] / 1e6
    latency = line["latency_us"]
    return {
        "name": page.name,
        "route": page.route,
        "connections": load.connections,
        "seconds": seconds,
        "requests": requests,
        "rps": requests / seconds if seconds else 0.0,
        "p50_ms": latency["p50"] / 1000,
        "p95_ms": latency["p95"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "unexpected_statuses": line["unexpected"],
        "socket_errors": line["socket_errors"] + line["timeouts"],
        "cpu_seconds": spent,
        "wrk_cpu_seconds": round(outcome.cpu_seconds, 3),
        "server_cpu_ms_per_request": spent["server"] * 1000 / requests if requests else None,
        "wrk_cpu_ms_per_request": outcome.cpu_seconds * 1000 / requests if requests else None,
    }


Measure = Callable[[Page, list[dict]], dict]


def sweep(base: str, users: int, pools: dict[str, Pool], market: Marketplace, measure: Measure):
    """Every GET page of the flow, in the order a customer meets them; and what could not be reached.

    When bringing the users to a step fails, the pages after it on that path are left out and the
    failure is returned, so one broken page does not cost the rest of the run.
    """
    results: list[dict] = []
    failures: list[str] = []
    for path_pages in (_registration_path, _bind_path):
        browsers = [Browser([base]) for _ in range(users)]
        try:
            path_pages(browsers, results, pools, market, measure)
        except FlowError as error:
            failures.append(f"{path_pages.__doc__.split(':')[0]}: {error}")
        finally:
            for browser in browsers:
                browser.close()
    return results, failures


def _measure_all(browsers, results, measure: Measure, name: str, path: str, route: str | None = None, paths=None):
    paths = paths or [path] * len(browsers)
    results.append(
        measure(Page(name, route or f"GET {path}"), [session(b, p) for b, p in zip(browsers, paths, strict=True)])
    )


def _registration_path(browsers, results, pools, market, measure) -> None:
    """Registration path pages: L1, G1, B1, R1-R3, S1, console."""
    # One new customer per user: G1, B1 and R1 need an Aliyun account bound to nothing yet.
    customers = [pools["register"].take() for _ in browsers]
    walkers = _each(browsers, lambda b, i: flows.arrive(b, customers[i], market))
    for name, path in (
        ("L1 登录", "/login/pwd"),
        ("G1 选择开通方式", "/activate/"),
        ("B1 绑定费用中心账号", "/bind/billing"),
        ("R1 基本信息", "/register/basic"),
    ):
        _measure_all(browsers, results, measure, name, path)
    for walking, customer in zip(walkers, customers, strict=True):
        walking.choose("register")
        walking.register_basic(flows.new_account(customer))
    _measure_all(browsers, results, measure, "R2 企业信息", "/register/company")
    for walking in walkers:
        walking.register_company("性能测试有限公司")
    _measure_all(browsers, results, measure, "R3 选择开通方式", "/register/activation")
    for walking in walkers:
        walking.register_activation(flows.WORKSPACE_NAME)
    _measure_all(browsers, results, measure, "S1 开通成功", "/activate/success")
    for walking, customer in zip(walkers, customers, strict=True):
        flows.log_in(walking, customer.new_username)
    _measure_all(browsers, results, measure, "Console 控制台", "/console/")


def _bind_path(browsers, results, pools, market, measure) -> None:
    """Bind path pages: B2, B2a-c."""
    customers = [pools["bind"].take() for _ in browsers]
    _each(browsers, lambda b, i: flows.reach_b2(b, customers[i], market))
    _measure_all(browsers, results, measure, "B2 绑定工作空间", "/bind/workspaces")
    for tab, name in (("existing", "B2b 有观测云账号"), ("register", "B2c 没有观测云账号")):
        _measure_all(browsers, results, measure, name, f"/workspace/new?tab={tab}")


def floor_sessions(base: str, users: int) -> dict[str, list[dict]]:
    """The floor app's two pages; /form's sessions already hold their CSRF token, as the wizard's do."""
    sessions = {"/bare": [], "/form": []}
    for _ in range(users):
        browser = Browser([base])
        try:
            browser.get("/form").expect(200)
            sessions["/form"].append(session(browser, "/form"))
            sessions["/bare"].append({"path": "/bare", "cookie": ""})
        finally:
            browser.close()
    return sessions


FLOOR_PAGES = (Page("floor: bare endpoint", "GET /bare"), Page("floor: template + CSRF form", "GET /form"))


def _each(browsers: list[Browser], step: Callable[[Browser, int], object]) -> list:
    """Bring every user one step further (one after another: preparation is not measured)."""
    return [step(browser, index) for index, browser in enumerate(browsers)]
