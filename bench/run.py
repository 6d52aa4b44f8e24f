"""One benchmark run: per database, the floors, the page sweep and every branch; then the scale-out."""

from __future__ import annotations

import math
import os
import platform
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .browser import Browser
from .customers import BRANCHES, Pool
from .flows import Marketplace
from .load import activate
from .mail import Inbox
from .pages import floors, sweep
from .servers import (
    RAISED_LIMITS,
    Secrets,
    ServerShape,
    postgres_cluster,
    prepare_database,
    product_env,
    serve_floor,
    serve_product,
    start_smtp,
    workdir,
)
from .stats import branch_summary, page_summary

# Upper bounds of activations per second on 2 cores, to seed enough customers for a branch's run:
# a run that uses up its customers says so in the report (its rate is then a lower bound).
MAX_RATE = {"bind": 250, "create": 250, "register_workspace": 50, "register": 50}


@dataclass
class Options:
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    branches: tuple[str, ...] = BRANCHES
    users: int = 16
    shape: ServerShape = field(default_factory=ServerShape)
    warmup: float = 1.0
    page_seconds: float = 3.0
    branch_seconds: float = 10.0
    pages: bool = True
    scale_out: bool = True
    scale_out_seconds: float = 8.0

    def pool_sizes(self, seconds: float) -> dict[str, int]:
        """Customers to seed per branch: enough for the run at MAX_RATE, plus the page sweep's."""
        sizes = {b: math.ceil((seconds + self.warmup) * MAX_RATE[b]) if b in self.branches else 0 for b in BRANCHES}
        if self.pages:  # the sweep walks registration customers, then bind customers
            for branch in ("register", "bind"):
                sizes[branch] += self.users
        return sizes


def run(options: Options, log=print) -> dict:
    """Run everything the options ask for; every server and database started is stopped on the way out."""
    started = time.monotonic()
    results = {"setup": setup(options), "databases": {}, "scale_out": None}
    with ExitStack() as stack:
        directory = workdir(stack)
        sink = start_smtp(stack, directory)
        keys = Secrets.fresh()
        market = Marketplace(keys.isv_key, Inbox(sink))
        floor = serve_floor(stack, keys, options.shape, directory) if options.pages else None
        cluster = None
        if "postgresql" in options.databases or options.scale_out:
            cluster = stack.enter_context(postgres_cluster())
        for database in options.databases:
            log(f"== {database}")
            url = f"sqlite:///{directory / 'bench.db'}" if database == "sqlite" else cluster.create_database("bench")
            context = Context(options, keys, market, sink.port, directory, log)
            results["databases"][database] = context.measure_database(url, floor.url if floor else None)
            results["databases"][database]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if options.scale_out:
            log("== scale-out: two instances, one PostgreSQL")
            context = Context(options, keys, market, sink.port, directory, log)
            results["scale_out"] = context.measure_scale_out(cluster.create_database("bench_scale"))
    results["setup"]["wall_seconds"] = round(time.monotonic() - started, 1)
    return results


def setup(options: Options) -> dict:
    return {
        "machine": f"{platform.system()} {platform.machine()}, {_cpus()} cores, Python {platform.python_version()}",
        "gunicorn": {"worker_class": "gthread", **asdict(options.shape)},
        "users": options.users,
        "warmup_seconds": options.warmup,
        "page_seconds": options.page_seconds,
        "branch_seconds": options.branch_seconds,
        "scale_out_seconds": options.scale_out_seconds if options.scale_out else None,
        "raised_limits": RAISED_LIMITS,
        "password_hash": hashing_cost(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        # The run shares 2 cores with whatever else runs: a load above ~0.5 before it starts means noise.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def hashing_cost(rounds: int = 3) -> dict:
    """What one password hash and one check cost here, with the product's own parameters."""
    from statistics import median

    from werkzeug.security import check_password_hash

    from wizard.services.accounts import hash_password

    generate, check = [], []
    for _ in range(rounds):
        begun = time.perf_counter()
        stored = hash_password("Guance-Bench-2026")
        generate.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        check_password_hash(stored, "Guance-Bench-2026")
        check.append(time.perf_counter() - begun)
    return {
        "method": stored.split("$", 1)[0],
        "rounds": rounds,
        "generate_ms": median(generate) * 1000,
        "check_ms": median(check) * 1000,
    }


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@dataclass
class Context:
    options: Options
    keys: Secrets
    market: Marketplace
    mail_port: int
    directory: Path
    log: object

    def serve(self, stack: ExitStack, url: str):
        return serve_product(stack, product_env(url, self.mail_port, self.keys), self.options.shape, self.directory)

    def measure_database(self, url: str, floor_url: str | None) -> dict:
        """Floors, page sweep and branches against one database, each server stopped afterwards."""
        options = self.options
        sizes = options.pool_sizes(options.branch_seconds)
        seeded = time.monotonic()
        prepare_database(url, self.keys, sizes)
        self.log(f"   migrated and seeded in {time.monotonic() - seeded:.1f} s: {sizes}")
        pools = {branch: Pool(branch, size) for branch, size in sizes.items()}
        with ExitStack() as stack:
            product = self.serve(stack, url)
            result = {"floors": [], "pages": [], "page_failures": [], "branches": []}
            if options.pages:
                floor_runs = floors([floor_url], options.users, options.page_seconds, options.warmup)
                result["floors"] = [page_summary(run, None) for run in floor_runs]
                self.log("   floors: " + ", ".join(f"{p['route']} {p['rps']:.0f}/s" for p in result["floors"]))
                page_runs, result["page_failures"] = sweep(
                    [product.url], options.users, options.page_seconds, options.warmup, pools, self.market
                )
                result["pages"] = [page_summary(run, result["floors"]) for run in page_runs]
                for failure in result["page_failures"]:
                    self.log(f"   left out: {failure}")
                for page in result["pages"]:
                    self.log(f"   {page['route']:<40} {page['rps']:7.0f}/s  p95 {page['p95_ms']:6.1f} ms")
            for branch in options.branches:
                result["branches"].append(
                    self.measure_branch([product.url], branch, pools, result["floors"], options.branch_seconds)
                )
        return result

    def measure_branch(
        self, bases: list[str], branch: str, pools: dict[str, Pool], floor_pages: list[dict], seconds: float
    ) -> dict:
        browsers = [Browser(bases) for _ in range(self.options.users)]
        try:
            run = activate(browsers, branch, pools[branch], self.market, seconds, self.options.warmup)
        finally:
            for browser in browsers:
                browser.close()
        summary = branch_summary(branch, run, pools[branch], floor_pages)
        self.log(
            f"   {branch:<20} {summary['activations_per_s']:6.1f} activations/s, "
            f"{summary['completed']} completed, {summary['failed']} failed"
        )
        for reason, count in summary["failures"].items():
            self.log(f"      {count} x {reason}")
        return summary

    def measure_scale_out(self, url: str) -> dict:
        """Two gunicorn instances on one PostgreSQL; each user alternates between them request by request."""
        options = self.options
        sizes = options.pool_sizes(options.scale_out_seconds)
        prepare_database(url, self.keys, sizes)
        pools = {branch: Pool(branch, size) for branch, size in sizes.items()}
        with ExitStack() as stack:
            instances = [self.serve(stack, url), self.serve(stack, url)]
            bases = [instance.url for instance in instances]
            branches = [
                self.measure_branch(bases, branch, pools, [], options.scale_out_seconds) for branch in options.branches
            ]
        return {
            "instances": len(bases),
            "branches": branches,
            "all_succeeded": all(b["failed"] == 0 and b["completed"] + b["finished_late"] > 0 for b in branches),
        }
