"""`python -m bench`: serve, load, measure, and write bench/results/latest.{json,md} and latency.png."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .customers import BRANCHES
from .report import write_reports
from .run import Options, run
from .servers import ServerShape

RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> tuple[Options, Path]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--databases", default=",".join(defaults.databases), help="sqlite,postgresql")
    parser.add_argument("--branches", default=",".join(defaults.branches), help=",".join(BRANCHES))
    parser.add_argument("--users", type=int, default=defaults.users, help="concurrent users")
    parser.add_argument("--workers", type=int, default=defaults.shape.workers, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=defaults.shape.threads, help="threads per worker")
    parser.add_argument("--page-seconds", type=float, default=defaults.page_seconds)
    parser.add_argument("--branch-seconds", type=float, default=defaults.branch_seconds)
    parser.add_argument("--scale-out-seconds", type=float, default=defaults.scale_out_seconds)
    parser.add_argument("--warmup", type=float, default=defaults.warmup)
    parser.add_argument("--no-pages", action="store_true", help="skip the floors and the page sweep")
    parser.add_argument("--no-scale-out", action="store_true", help="skip the two-instance run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.json, latest.md, latency.png go")
    args = parser.parse_args(argv)
    options = Options(
        databases=_names(args.databases, ("sqlite", "postgresql")),
        branches=_names(args.branches, BRANCHES),
        users=args.users,
        shape=ServerShape(args.workers, args.threads),
        warmup=args.warmup,
        page_seconds=args.page_seconds,
        branch_seconds=args.branch_seconds,
        pages=not args.no_pages,
        scale_out=not args.no_scale_out,
        scale_out_seconds=args.scale_out_seconds,
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
