"""`python -m bench.compare BASE`: what a change saves, measured on both source trees side by side.

The tree at git revision BASE (exported with `git archive`, its catalogs compiled) and this working
tree serve one database at once, under the same gunicorn shape, each with its own queue worker.
Pages: the same sessions (walked once; both trees read them, since they share the database and the
SECRET_KEY) are hammered on one tree, then on the other, for several rounds that alternate which
goes first, so whatever else loads the machine weighs on both alike. Bind activations likewise:
fresh customers for each tree in every round. Reported: the median over the rounds of each tree's
server CPU per request (or per activation, its queue worker included), and the change.

Both trees run on this tree's virtualenv, database schema and benchmark code: BASE must be close
enough to share them (a change of requirements or a migration that BASE cannot live with is not
something this measures).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from .activations import run_branch
from .browser import Browser
from .cpu import CpuMeter
from .customers import BRANCHES, Pool
from .flows import Marketplace, arrive, reach_b2
from .mail import Inbox
from .pages import Load, Page, hammer, session
from .servers import (
    ROOT,
    Secrets,
    ServerShape,
    postgres_cluster,
    postmaster_pid,
    prepare_database,
    product_env,
    serve_product,
    serve_worker,
    start_smtp,
    workdir,
)

# name -> (path, the step its sessions stand at): G1's sessions serve L1, G1, B1 and R1; B2's the rest.
PAGES = {
    "L1": ("/login/pwd", "g1"),
    "G1": ("/activate/", "g1"),
    "B1": ("/bind/billing", "g1"),
    "R1": ("/register/basic", "g1"),
    "B2": ("/bind/workspaces", "b2"),
    "B2b": ("/workspace/new?tab=existing", "b2"),
    "B2c": ("/workspace/new?tab=register", "b2"),
}


@dataclass
class Tree:
    """One source tree under test: where it is, its label, and (once served) its server and worker."""

    label: str
    root: Path
    server: object = None
    worker: object = None

    def meter(self, postmaster: int | None) -> CpuMeter:
        return CpuMeter(
            {"server": [self.server.pid, self.worker.process.pid], "database": [postmaster] if postmaster else []}
        )


def export_tree(revision: str, directory: Path) -> Path:
    """The files of `revision` (git archive: the repository itself is not touched), catalogs compiled."""
    target = directory / f"tree-{revision.replace('/', '_')}"
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    for package in ("wizard", "marketplace"):
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "--quiet", "compile", "--domain", "messages", "-d",
             f"{package}/translations"],
            cwd=target, check=True,
        )  # fmt: skip
    return target


def git_label(revision: str) -> str:
    found = subprocess.run(["git", "rev-parse", "--short", revision], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or revision


def head_label() -> str:
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return git_label("HEAD") + ("+changes" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the git revision to compare this working tree with (e.g. HEAD~1)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pages", default="L1,G1,B1,R1,B2", help=f"of {','.join(PAGES)}; empty for none")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="each page's measured run, per tree and round")
    parser.add_argument("--activations", type=int, default=48, help="bind activations per tree and round (0: none)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) and the figures (JSON) here")
    args = parser.parse_args(argv)
    pages = [name for name in args.pages.split(",") if name]
    unknown = set(pages) - set(PAGES)
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    results = compare(args, pages)
    text = markdown(results)
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


def compare(args, pages: list[str]) -> dict:
    load = Load(args.connections, min(2, args.connections), args.seconds, 1.0)
    shape = ServerShape(args.workers, args.threads)
    runs: dict[str, dict[str, list[float]]] = {}
    with ExitStack() as stack:
        directory = workdir(stack)
        trees = [Tree(git_label(args.base), export_tree(args.base, directory)), Tree(head_label(), ROOT)]
        sink, _sink_pid = start_smtp(stack, directory)
        keys = Secrets.fresh()
        market = Marketplace(keys.isv_key, Inbox(sink))
        url, postmaster = _database(stack, args.database, directory)
        customers = args.activations * args.rounds * len(trees) + 2 * args.connections
        sizes = dict.fromkeys(BRANCHES, 0) | {"register": args.connections, "bind": customers}
        prepare_database(url, keys, sizes)
        pools = {branch: Pool(branch, size) for branch, size in sizes.items()}
        for tree in trees:
            env = product_env(url, sink.port, keys, {"QUEUE_SQLITE_PATH": str(directory / f"queue-{tree.label}.db")})
            tree.server = serve_product(stack, env, shape, directory, root=tree.root)
            tree.worker = serve_worker(stack, {**env, "PUBLIC_BASE_URL": tree.server.url}, directory, tree.root)
        sessions = _sessions(trees[-1].server.url, pools, market, args.connections, pages)
        for round_ in range(args.rounds):
            print(f"round {round_ + 1} of {args.rounds}", file=sys.stderr)
            for tree in trees if round_ % 2 == 0 else trees[::-1]:
                for name in pages:
                    path, step = PAGES[name]
                    measured = [{**s, "path": path} for s in sessions[step]]
                    summary = hammer(
                        tree.server.url, Page(name, f"GET {path}"), measured, load, tree.meter(postmaster), directory
                    )
                    if summary["unexpected_statuses"]:
                        raise RuntimeError(f"{tree.label} {path}: unexpected answers {summary['unexpected_statuses']}")
                    runs.setdefault(name, {}).setdefault(tree.label, []).append(summary["server_cpu_ms_per_request"])
                if args.activations:
                    cpu = _activations(tree, pools["bind"], args, keys, market, postmaster, directory)
                    runs.setdefault("bind activation", {}).setdefault(tree.label, []).append(cpu)
    return {
        "base": trees[0].label,
        "head": trees[1].label,
        "database": args.database,
        "rounds": args.rounds,
        "shape": f"{args.workers}x{args.threads}",
        "runs": runs,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def _database(stack: ExitStack, database: str, directory: Path) -> tuple[str, int | None]:
    if database == "sqlite":
        return f"sqlite:///{directory / 'compare.db'}", None
    cluster = stack.enter_context(postgres_cluster())
    return cluster.create_database("compare"), postmaster_pid(cluster)


def _sessions(base: str, pools: dict[str, Pool], market: Marketplace, users: int, pages: list[str]) -> dict:
    """Customers at G1 (an Aliyun account bound to nothing) and at B2 (bound, instance not yet bound)."""
    steps = {PAGES[name][1] for name in pages}
    sessions = {"g1": [], "b2": []}
    for _ in range(users):
        for step in steps:
            browser = Browser([base])
            try:
                if step == "g1":
                    arrive(browser, pools["register"].take(), market)
                else:
                    reach_b2(browser, pools["bind"].take(), market)
                sessions[step].append(session(browser, "/"))
            finally:
                browser.close()
    return sessions


def _activations(tree: Tree, pool: Pool, args, keys: Secrets, market: Marketplace, postmaster, directory) -> float:
    customers = [pool.take() for _ in range(args.activations)]
    summary = run_branch(
        "bind", customers, [tree.server.url], args.connections, keys.isv_key, market.inbox,
        tree.meter(postmaster), directory,
    )  # fmt: skip
    if summary["failed"]:
        raise RuntimeError(f"{tree.label}: {summary['failed']} bind activations failed: {summary['failures']}")
    return summary["cpu_ms_per_activation"]["server"]


def markdown(results: dict) -> str:
    base, head = results["base"], results["head"]
    lines = [
        f"Server CPU, ms per request (per activation: gunicorn and its queue worker), {results['database']}, "
        f"gunicorn {results['shape']}; median of {results['rounds']} interleaved rounds (spread: max - min).",
        "",
        f"| Measured | {base} | {head} | change |",
        "|---|---:|---:|---:|",
    ]
    for name, by_tree in results["runs"].items():
        before, after = median(by_tree[base]), median(by_tree[head])
        route = PAGES[name][0] if name in PAGES else ""
        spreads = [max(by_tree[t]) - min(by_tree[t]) for t in (base, head)]
        lines.append(
            f"| {name} {f'`GET {route}`' if route else ''} | {before:.2f} (±{spreads[0]:.2f}) | "
            f"{after:.2f} (±{spreads[1]:.2f}) | {(after - before) / before:+.0%} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
