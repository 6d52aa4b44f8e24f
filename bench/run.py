"""One benchmark run: per database the floors, the page sweep and every branch; then the experiments
(variants and server shapes), the flame graphs and the scale-out."""

from __future__ import annotations

import hashlib
import os
import platform
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from statistics import median

from . import codes_timing
from .activations import run_branch
from .browser import Browser
from .cpu import CpuMeter
from .customers import BRANCHES, Pool
from .flows import Marketplace, arrive
from .mail import Inbox
from .pages import FLOOR_PAGES, Load, Page, floor_sessions, hammer, session, sweep
from .profile import flame_graph
from .servers import (
    RAISED_LIMITS,
    Secrets,
    ServerShape,
    postgres_cluster,
    postmaster_pid,
    prepare_database,
    product_env,
    redis_server,
    serve_floor,
    serve_product,
    serve_worker,
    start_smtp,
    workdir,
)
from .stats import ratios
from .variants import VARIANTS

# Customers per branch run: the two branches that register an account hash two passwords each
# (~0.2 s of CPU apiece), so they get a quarter of the others'.
HASHING_BRANCHES = ("register_workspace", "register")
# The pages the experiments compare: the three the issue found slow or fast under threads, and L1.
EXPERIMENT_PAGES = (("G1", "/activate/"), ("B1", "/bind/billing"), ("R1", "/register/basic"), ("L1", "/login/pwd"))
EXPERIMENT_ROUNDS, EXPERIMENT_SECONDS = 3, 2.0
PROFILED_ACTIVATIONS = 96
# (name, path, file, idle): CPU graphs of B1 and R1; B1 once more in wall time, where threads wait.
PROFILED_PAGES = (
    ("B1", "/bind/billing", "b1-get", False),
    ("R1", "/register/basic", "r1-get", False),
    ("B1", "/bind/billing", "b1-get-wall", True),
)


@dataclass
class Options:
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    branches: tuple[str, ...] = BRANCHES
    activations: int = 480  # per branch that hashes no password; a quarter for the two that do
    load: Load = field(default_factory=Load)
    shape: ServerShape = field(default_factory=ServerShape)
    pages: bool = True
    experiments: bool = True
    profile: Path | None = None  # where the flame graphs go; None: none
    scale_out: bool = True
    code_tries: int = codes_timing.TRIES  # 获取验证码 for an account and for nobody, timed; 0: not measured

    def customers(self, branch: str) -> int:
        count = self.activations // 4 if branch in HASHING_BRANCHES else self.activations
        return max(count, self.load.connections)

    def pool_sizes(self, first: bool) -> dict[str, int]:
        """Customers to seed per branch: the branch runs, the page sweep, the experiments and profiles."""
        users = self.load.connections
        # Each branch run starts with one customer per connection, not counted: a warm-up.
        sizes = {b: self.customers(b) + users if b in self.branches else 0 for b in BRANCHES}
        if self.pages:  # the sweep walks registration customers, then bind customers
            sizes["register"] += users
            sizes["bind"] += users
        if first and (self.experiments or self.profile):
            sizes["register"] += users  # one set of sessions at G1 serves every variant and profile
        if first and self.profile:
            sizes["bind"] += PROFILED_ACTIVATIONS + users
        if self.code_tries:  # each try: a new customer at G1, and a seeded account's username and address
            tries = self.code_tries + codes_timing.WARMUP_TRIES
            sizes["register"] += tries
            sizes["create"] += tries
        return sizes


def run(options: Options, log=print) -> dict:
    """Run everything the options ask for; every server and database started is stopped on the way out."""
    started = time.monotonic()
    results = {"setup": setup(options), "databases": {}, "experiments": None, "profiles": [], "scale_out": None}
    with ExitStack() as stack:
        directory = workdir(stack)
        sink, sink_pid = start_smtp(stack, directory)
        keys = Secrets.fresh()
        bench = Bench(options, keys, Marketplace(keys.isv_key, Inbox(sink)), sink.port, sink_pid, directory, log)
        floor = serve_floor(stack, keys, options.shape, directory) if options.pages else None
        cluster = None
        if "postgresql" in options.databases or options.scale_out:
            cluster = stack.enter_context(postgres_cluster())
        for index, database in enumerate(options.databases):
            log(f"== {database}")
            if database == "sqlite":
                url, postmaster = f"sqlite:///{directory / 'bench.db'}", None
            else:
                url, postmaster = cluster.create_database("bench"), postmaster_pid(cluster)
            results["databases"][database] = bench.measure_database(url, postmaster, floor, first=index == 0)
            results["databases"][database]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            if index == 0 and (options.experiments or options.profile):
                results["experiments"], results["profiles"] = bench.experiments(url, postmaster)
        if options.scale_out:
            redis = stack.enter_context(redis_server())
            bench.queue = {"REDIS_URL": redis.url} if redis else None
            log(f"== scale-out: two instances, one worker, one PostgreSQL; queue on {'Redis' if redis else 'SQLite'}")
            results["scale_out"] = bench.measure_scale_out(
                cluster.create_database("bench_scale"), postmaster_pid(cluster)
            )
    results["setup"]["wall_seconds"] = round(time.monotonic() - started, 1)
    return results


def _median_run(runs: list[dict]) -> dict:
    """One page's rounds: the median of each figure, and how much the server's CPU per request spread."""
    cpu = [run["server_cpu_ms_per_request"] for run in runs]
    return {
        "route": runs[0]["route"],
        "rps": median(run["rps"] for run in runs),
        "p95_ms": median(run["p95_ms"] for run in runs),
        "server_cpu_ms_per_request": median(cpu),
        "server_cpu_spread_ms": max(cpu) - min(cpu),
        "server_cores": median(run["cpu_seconds"]["server"] / run["seconds"] for run in runs),
    }


def setup(options: Options) -> dict:
    return {
        "machine": f"{platform.system()} {platform.machine()}, {_cpus()} cores, Python {platform.python_version()}",
        "gunicorn": {"worker_class": "gthread", **asdict(options.shape)},
        "client": {"tool": _wrk_version(), **asdict(options.load)},
        "customers": {branch: options.customers(branch) for branch in options.branches},
        "raised_limits": RAISED_LIMITS,
        "password_hash": hashing_cost(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        # The run shares 2 cores with whatever else runs: a load above ~0.5 before it starts means noise.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _wrk_version() -> str:
    import subprocess

    from .wrk import wrk_binary

    output = subprocess.run([wrk_binary(), "--version"], capture_output=True, text=True).stdout
    return output.split(" [")[0].strip() or "wrk"


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
class Bench:
    options: Options
    keys: Secrets
    market: Marketplace
    mail_port: int
    sink_pid: int
    directory: Path
    log: object
    pools: dict[str, Pool] = field(default_factory=dict)
    queue: dict[str, str] | None = None  # None: a SQLite queue file per database

    def env(self, url: str) -> dict[str, str]:
        # A queue of its own per database: a task names a row by id, which only means something in its database.
        name = hashlib.sha1(url.encode()).hexdigest()[:12]
        queue = self.queue or {"QUEUE_SQLITE_PATH": str(self.directory / f"queue-{name}.db")}
        return product_env(url, self.mail_port, self.keys, queue)

    def serve(self, stack: ExitStack, url: str, shape: ServerShape | None = None, variant: str = "product"):
        env = {**self.env(url), "BENCH_VARIANT": variant}
        target = "wsgi:app" if variant == "product" else "bench.variants:app"
        return serve_product(stack, env, shape or self.options.shape, self.directory, target)

    def serve_worker(self, stack: ExitStack, url: str):
        """The queue's worker: it mails the codes; its CPU is the server's (the work left the request)."""
        return serve_worker(stack, self.env(url), self.directory)

    def meter(self, servers: list, postmaster: int | None) -> CpuMeter:
        return CpuMeter(
            {
                "server": [s.pid for s in servers],
                "database": [postmaster] if postmaster else [],
                "mail": [self.sink_pid],
            }
        )

    def measure_database(self, url: str, postmaster: int | None, floor, first: bool) -> dict:
        """Floors, page sweep and branches against one database, each server stopped afterwards."""
        options = self.options
        sizes = options.pool_sizes(first)
        seeded = time.monotonic()
        prepare_database(url, self.keys, sizes)
        self.log(f"   migrated and seeded in {time.monotonic() - seeded:.1f} s: {sizes}")
        self.pools = {branch: Pool(branch, size) for branch, size in sizes.items()}
        result = {"floors": [], "pages": [], "page_failures": [], "branches": [], "codes_timing": None}
        with ExitStack() as stack:
            product = self.serve(stack, url)
            worker = self.serve_worker(stack, url)
            meter = self.meter([product, worker.process], postmaster)
            if options.pages:
                result["floors"] = self.measure_floors(floor)
                measure = self._measurer(product.url, meter, result["floors"])
                result["pages"], result["page_failures"] = sweep(
                    product.url, options.load.connections, self.pools, self.market, measure
                )
                for failure in result["page_failures"]:
                    self.log(f"   left out: {failure}")
            if options.code_tries:
                result["codes_timing"] = self.measure_codes_timing(product.url, url)
            for branch in options.branches:
                result["branches"].append(self.measure_branch(branch, [product.url], meter))
        return result

    def measure_codes_timing(self, base: str, url: str) -> dict:
        """获取验证码 for an account and for nobody, interleaved (bench/codes_timing.py)."""
        timing = codes_timing.measure(base, url, self.options.code_tries, self.pools["register"], self.pools["create"],
                                      self.market)  # fmt: skip
        for row in timing["purposes"]:
            self.log(
                f"   POST /codes/send {row['purpose']:<16} account {row['account']['median_ms']:.1f} ms, "
                f"nobody {row['nobody']['median_ms']:.1f} ms (medians of {timing['tries']}): "
                f"{row['difference_ms']:+.2f} ms (paired {row['paired_difference_ms']:+.2f} ms)"
            )
        return timing

    def _measurer(self, base: str, meter: CpuMeter, floors: list[dict], load: Load | None = None):
        def measure(page: Page, sessions: list[dict]) -> dict:
            summary = hammer(base, page, sessions, load or self.options.load, meter, self.directory)
            summary.update(ratios(summary["rps"], floors))
            self.log(
                f"   {page.route:<40} {summary['rps']:7.0f}/s  p95 {summary['p95_ms']:6.1f} ms  "
                f"server {summary['server_cpu_ms_per_request']:.2f} ms/request"
            )
            return summary

        return measure

    def measure_floors(self, floor) -> list[dict]:
        sessions = floor_sessions(floor.url, self.options.load.connections)
        measure = self._measurer(floor.url, self.meter([floor], None), [])
        return [measure(page, sessions[page.route.split()[1]]) for page in FLOOR_PAGES]

    def measure_branch(self, branch: str, bases: list[str], meter: CpuMeter, count: int | None = None) -> dict:
        """A warm-up batch (one customer per connection, not counted), then `count` customers."""
        connections = self.options.load.connections
        for batch in (connections, count or self.options.customers(branch)):
            customers = [c for c in (self.pools[branch].take() for _ in range(batch)) if c]
            summary = run_branch(
                branch, customers, bases, connections, self.keys.isv_key, self.market.inbox, meter, self.directory
            )
        server = summary["cpu_ms_per_activation"].get("server", 0.0)
        self.log(
            f"   {branch:<20} {summary['activations_per_s']:6.1f} activations/s, {summary['completed']} completed, "
            f"{summary['failed']} failed, server {server:.1f} ms CPU per activation"
        )
        for reason, count_ in summary["failures"].items():
            self.log(f"      {count_} x {reason}")
        return summary

    def experiments(self, url: str, postmaster: int | None) -> tuple[dict | None, list[dict]]:
        """Same pages, same sessions, one server per setup: variants (bench/variants.py) and thread shapes.

        Every server runs from the start, and the rounds go through all of them in turn, so whatever else
        loads the machine weighs on each setup alike; the medians of the rounds are reported.
        """
        options = self.options
        setups = [(variant, options.shape) for variant in VARIANTS]
        setups += [(variant, replace(options.shape, threads=1)) for variant in ("product", "no-rate-limit")]
        load = replace(options.load, seconds=EXPERIMENT_SECONDS, warmup=min(options.load.warmup, 0.5))
        with ExitStack() as stack:
            servers = [self.serve(stack, url, shape, variant) for variant, shape in setups]
            if options.profile:  # its bind activations need their codes mailed
                self.serve_worker(stack, url)
            sessions = self._sessions_at_g1(servers[0].url)
            profiles = self.profile(servers[0], postmaster, sessions) if options.profile else []
            if not options.experiments:
                return None, profiles
            runs: dict[tuple[int, str], list[dict]] = {}
            for round_ in range(EXPERIMENT_ROUNDS):
                self.log(f"== experiments, round {round_ + 1} of {EXPERIMENT_ROUNDS}")
                for index, server in enumerate(servers):
                    measure = self._measurer(server.url, self.meter([server], postmaster), [], load)
                    for name, path in EXPERIMENT_PAGES:
                        page_sessions = [{**s, "path": path} for s in sessions]
                        runs.setdefault((index, path), []).append(measure(Page(name, f"GET {path}"), page_sessions))
        rows = [
            {
                "variant": variant,
                "workers": shape.workers,
                "threads": shape.threads,
                "pages": [_median_run(runs[(index, path)]) for _name, path in EXPERIMENT_PAGES],
            }
            for index, (variant, shape) in enumerate(setups)
        ]
        return {"rounds": EXPERIMENT_ROUNDS, "seconds": EXPERIMENT_SECONDS, "rows": rows}, profiles

    def _sessions_at_g1(self, base: str) -> list[dict]:
        """Customers at G1 (an Aliyun account bound to nothing): G1, B1, R1 and L1 all answer 200 there."""
        sessions = []
        for _ in range(self.options.load.connections):
            browser = Browser([base])
            try:
                arrive(browser, self.pools["register"].take(), self.market)
                sessions.append(session(browser, "/activate/"))
            finally:
                browser.close()
        return sessions

    def profile(self, product, postmaster: int | None, sessions: list[dict]) -> list[dict]:
        """py-spy flame graphs of the workers: B1 and R1 hammered alone, then bind activations (POSTs too).

        Each page is hammered once before its graph (templates compile on first use), and the graph
        covers wrk's measured run only (no warm-up inside).
        """
        meter = self.meter([product], postmaster)
        measure = self._measurer(product.url, meter, [], replace(self.options.load, seconds=5.0, warmup=0))
        graphs = []
        warm_up = self._measurer(product.url, meter, [], replace(self.options.load, seconds=1.0, warmup=0))
        for name, path, slug, idle in PROFILED_PAGES:
            page, page_sessions = Page(name, f"GET {path}"), [{**s, "path": path} for s in sessions]
            warm_up(page, page_sessions)
            with flame_graph(product.pid, self.options.profile / f"flame-{slug}.svg", idle) as graph:
                measure(page, page_sessions)
            what = "wall time: waiting threads included" if idle else "CPU"
            graphs.append({"what": f"GET {path} alone, {what}", **graph})
        with flame_graph(product.pid, self.options.profile / "flame-bind-activations.svg") as graph:
            self.measure_branch("bind", [product.url], meter, PROFILED_ACTIVATIONS)
        graphs.append({"what": f"{PROFILED_ACTIVATIONS} bind activations (every POST of the branch), CPU", **graph})
        return graphs

    def measure_scale_out(self, url: str, postmaster: int) -> dict:
        """Two gunicorn instances on one PostgreSQL; every customer's segments alternate between them."""
        options = self.options
        sizes = {b: options.customers(b) + options.load.connections if b in options.branches else 0 for b in BRANCHES}
        prepare_database(url, self.keys, sizes)
        self.pools = {branch: Pool(branch, size) for branch, size in sizes.items()}
        with ExitStack() as stack:
            instances = [self.serve(stack, url), self.serve(stack, url)]
            worker = self.serve_worker(stack, url)
            meter = self.meter([*instances, worker.process], postmaster)
            branches = [self.measure_branch(b, [i.url for i in instances], meter) for b in options.branches]
        return {
            "instances": len(instances),
            "branches": branches,
            "all_succeeded": all(b["failed"] == 0 and b["completed"] > 0 for b in branches),
        }
