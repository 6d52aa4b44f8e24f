"""The page sweep: each GET page of the wizard alone, hammered by N users holding a session at its step.

Users are brought to each step by walking the real flow (so their sessions are what a browser
holds there); then every user GETs that page for the set duration.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import flows
from .browser import Browser, FlowError
from .customers import Pool
from .flows import Marketplace
from .load import RunResult, hammer

_CONFIRM = re.compile(r"confirm=(\d+)")


@dataclass(frozen=True)
class Page:
    name: str  # the documentation's name of the page
    path: str  # what is requested (for B2's dialog, with one user's workspace id)
    route: str  # the route template it is reported under


@dataclass
class PageRun:
    page: Page
    result: RunResult


def sweep(
    bases: list[str], users: int, duration: float, warmup: float, pools: dict[str, Pool], market: Marketplace
) -> tuple[list[PageRun], list[str]]:
    """Every GET page of the flow, in the order a customer meets them; and what could not be reached.

    When bringing the users to a step fails, the pages after it on that path are left out and the
    failure is returned, so one broken page does not cost the rest of the run.
    """
    runs: list[PageRun] = []
    failures: list[str] = []
    for path_pages in (_registration_path, _bind_path):
        browsers = [Browser(bases) for _ in range(users)]
        try:
            path_pages(browsers, runs, duration, warmup, pools, market)
        except FlowError as error:
            failures.append(f"{path_pages.__doc__.split(':')[0]}: {error}")
        finally:
            for browser in browsers:
                browser.close()
    return runs, failures


def _registration_path(browsers, runs, duration, warmup, pools, market) -> None:
    """Registration path pages: L1, G1, B1, R1-R3, S1, console."""
    # The registration path, one new customer per user: G1, B1 and R1 need an unbound Aliyun account.
    customers = [pools["register"].take() for _ in browsers]
    g1 = _each(browsers, lambda b, i: flows.arrive(b, customers[i], market))
    for name, path in (
        ("L1 登录", "/login/pwd"),
        ("G1 选择开通方式", "/activate/"),
        ("B1 绑定费用中心账号", "/bind/billing"),
        ("R1 基本信息", "/register/basic"),
    ):
        runs.append(_hammer(browsers, Page(name, path, f"GET {path}"), duration, warmup))
    r1 = _each(browsers, lambda b, i: flows.choose(b, g1[i], "register", "/register/basic"))
    r2 = _each(browsers, lambda b, i: flows.register_basic(b, customers[i], market, r1[i]))
    runs.append(_hammer(browsers, Page("R2 企业信息", "/register/company", "GET /register/company"), duration, warmup))
    r3 = _each(browsers, lambda b, i: flows.register_company(b, r2[i]))
    runs.append(
        _hammer(browsers, Page("R3 选择开通方式", "/register/activation", "GET /register/activation"), duration, warmup)
    )
    _each(browsers, lambda b, i: flows.register_activation(b, r3[i]))
    runs.append(_hammer(browsers, Page("S1 开通成功", "/activate/success", "GET /activate/success"), duration, warmup))
    _each(browsers, lambda b, i: flows.log_in(b, customers[i].new_username))
    runs.append(_hammer(browsers, Page("Console 控制台", "/console/", "GET /console/"), duration, warmup))


def _bind_path(browsers, runs, duration, warmup, pools, market) -> None:
    """Bind path pages: B2, its dialog, B2a-c."""
    customers = [pools["bind"].take() for _ in browsers]
    b2 = _each(browsers, lambda b, i: flows.reach_b2(b, customers[i], market))
    runs.append(
        _hammer(browsers, Page("B2 绑定工作空间", "/bind/workspaces", "GET /bind/workspaces"), duration, warmup)
    )
    dialogs = [f"/bind/workspaces?confirm={_CONFIRM.search(page.text).group(1)}" for page in b2]
    runs.append(
        _hammer(
            browsers,
            Page("B2 绑定 (dialog)", dialogs[0], "GET /bind/workspaces?confirm=<id>"),
            duration,
            warmup,
            paths=dialogs,
        )
    )
    for tab, name in (("existing", "B2b 有观测云账号"), ("register", "B2c 没有观测云账号")):
        path = f"/workspace/new?tab={tab}"
        runs.append(_hammer(browsers, Page(name, path, f"GET {path}"), duration, warmup))


def floors(bases: list[str], users: int, duration: float, warmup: float) -> list[PageRun]:
    """The floor app's two pages, hammered exactly like the product's."""
    browsers = [Browser(bases) for _ in range(users)]
    try:
        return [
            _hammer(browsers, Page(name, path, f"GET {path}"), duration, warmup)
            for name, path in (("floor: bare endpoint", "/bare"), ("floor: template + CSRF form", "/form"))
        ]
    finally:
        for browser in browsers:
            browser.close()


def _each(browsers: list[Browser], step: Callable[[Browser, int], object]) -> list:
    """Bring every user one step further (one after another: preparation is not measured)."""
    return [step(browser, index) for index, browser in enumerate(browsers)]


def _hammer(
    browsers: list[Browser], page: Page, duration: float, warmup: float, paths: list[str] | None = None
) -> PageRun:
    """Hammer one page; `paths` when each user requests its own (B2's dialog for its own workspace)."""
    return PageRun(page, hammer(browsers, paths or [page.path] * len(browsers), page.route, duration, warmup))
