"""`python -m bench`: serve the product with gunicorn, load it with wrk, measure the server's CPU,
and write bench/results/latest.{json,md}, latency.png and the flame graphs."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .customers import BRANCHES
from .pages import Load
from .report import write_reports
from .run import Options, run
from .servers import ServerShape

RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> tuple[Options, Path]:
    defaults, load = Options(), Load()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a minute or so for iteration: SQLite, bind, "
        "1 s pages, 64 activations, no experiments, flame graphs or scale-out (options below win)",
    )
    parser.add_argument("--databases", help="sqlite,postgresql (default both)")
    parser.add_argument("--branches", help=f"{','.join(BRANCHES)} (default all)")
    parser.add_argument(
        "--activations",
        type=int,
        help=f"customers per branch run (default {defaults.activations}; "
        "a quarter for the two branches that hash passwords)",
    )
    parser.add_argument("--connections", type=int, default=load.connections, help="concurrent wrk connections")
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=load.threads,
        help="wrk threads for the pages (activations use one per connection)",
    )
    parser.add_argument("--page-seconds", type=float, help=f"each page's measured run (default {load.seconds:g})")
    parser.add_argument("--warmup", type=float, default=load.warmup, help="seconds of wrk before each page's run")
    parser.add_argument("--workers", type=int, default=defaults.shape.workers, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=defaults.shape.threads, help="threads per worker")
    parser.add_argument("--no-pages", action="store_true", help="skip the floors and the page sweep")
    parser.add_argument("--no-experiments", action="store_true", help="skip the variants and thread shapes")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy flame graphs")
    parser.add_argument("--no-scale-out", action="store_true", help="skip the two-instance run")
    parser.add_argument(
        "--code-tries",
        type=int,
        default=defaults.code_tries,
        help="interleaved tries of POST /codes/send for an account and for nobody (0: skip)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args(argv)
    quick = args.quick
    options = Options(
        databases=_names(args.databases or ("sqlite" if quick else "sqlite,postgresql"), ("sqlite", "postgresql")),
        branches=_names(args.branches or ("bind" if quick else ",".join(BRANCHES)), BRANCHES),
        activations=args.activations or (64 if quick else defaults.activations),
        load=Load(
            args.connections, args.wrk_threads, args.page_seconds or (1.0 if quick else load.seconds), args.warmup
        ),
        shape=ServerShape(args.workers, args.threads),
        pages=not args.no_pages,
        experiments=not (args.no_experiments or quick),
        profile=None if (args.no_profile or quick) else args.out,
        scale_out=not (args.no_scale_out or quick),
        code_tries=args.code_tries,
    )
    return options, args.out


def _names(text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(name for name in text.split(",") if name)
    unknown = set(names) - set(allowed)
    if unknown:
        raise SystemExit(f"unknown: {', '.join(sorted(unknown))} (choose from {', '.join(allowed)})")
    return names


def _stop_on_sigterm(*_args) -> None:
    raise KeyboardInterrupt  # unwinds the ExitStacks, which stop every server


def main(argv: list[str] | None = None) -> int:
    options, out = parse(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        results = run(options)
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130
    for path in write_reports(results, out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
