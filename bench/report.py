"""Results as JSON, as a Markdown report with the targets checked, and as a PNG chart of latency per page."""

from __future__ import annotations

import json
from pathlib import Path

from .stats import HASHING_ROUTES

TARGET_FLOOR_SHARE = 0.40  # GET pages: at least 40% of the bare endpoint's requests per second
TARGET_P95_MS = 25.0  # at 16 users, pages that do not hash passwords
TARGET_BIND_RATE = 50.0  # bind-existing activations per second on PostgreSQL
HASHING_BRANCHES = ("register_workspace", "register")  # their runs hash passwords on every activation
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
BRANCH_NAMES = {
    "bind": "bind existing workspace (B1, B2)",
    "create": "create workspace, existing Guance account (B1, B2b)",
    "register_workspace": "register account + workspace (B1, B2c, L1)",
    "register": "registration path (R1-R3, L1)",
}


def write_reports(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    results["targets"] = check_targets(results)
    paths = [out / "latest.json", out / "latest.md"]
    paths[0].write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(markdown(results))
    chart = out / "latency.png"
    if draw_chart(results, chart):
        paths.append(chart)
    return paths


# ---- Targets ----


def check_targets(results: dict) -> list[dict]:
    """Each target with the evidence: what was measured and what missed it."""
    checks = []
    for database, data in results["databases"].items():
        if data["pages"]:
            misses = [
                f"{p['route']} {p['x_bare']:.0%}" for p in data["pages"] if (p["x_bare"] or 0) < TARGET_FLOOR_SHARE
            ]
            checks.append(
                _check(
                    f"GET pages ≥ {TARGET_FLOOR_SHARE:.0%} of the bare floor's req/s",
                    database,
                    misses,
                    f"lowest {min(p['x_bare'] or 0 for p in data['pages']):.0%}",
                )
            )
        slow = [
            f"{r['route']} {r['p95_ms']:.1f} ms ({where})"
            for where, r in _no_hashing_pages(data)
            if r["p95_ms"] > TARGET_P95_MS
        ]
        worst = max((r["p95_ms"] for _, r in _no_hashing_pages(data)), default=0.0)
        bare = next(
            (f"; the bare floor's own p95 {p['p95_ms']:.1f} ms" for p in data["floors"] if p["route"] == "GET /bare"),
            "",
        )
        checks.append(
            _check(
                f"p95 ≤ {TARGET_P95_MS:.0f} ms at {results['setup']['users']} users (pages without password hashing)",
                database,
                slow,
                f"worst {worst:.1f} ms{bare}",
                _latency_ceiling(data, results["setup"]["users"]),
            )
        )
        bind = next((b for b in data["branches"] if b["branch"] == "bind"), None)
        if bind is not None and database == "postgresql":
            rate = bind["activations_per_s"]
            checks.append(
                _check(
                    f"bind-existing ≥ {TARGET_BIND_RATE:.0f} activations/s",
                    database,
                    [] if rate >= TARGET_BIND_RATE else [f"{rate:.1f}/s"],
                    f"{rate:.1f}/s",
                    _activation_ceiling(data, bind),
                )
            )
    scale = results.get("scale_out")
    if scale:
        failed = [
            f"{b['branch']}: {b['failed']} failed"
            for b in scale["branches"]
            if b["failed"] or not b["completed"] + b["finished_late"]
        ]
        checks.append(
            _check(
                "scale-out: every activation succeeds on two instances",
                "postgresql",
                failed,
                f"{sum(b['completed'] + b['finished_late'] for b in scale['branches'])} activations",
            )
        )
    return checks


def _check(target: str, database: str, misses: list[str], measured: str, ceiling: str = "") -> dict:
    return {
        "target": target,
        "database": database,
        "met": not misses,
        "measured": measured,
        "misses": misses,
        "ceiling": ceiling,
    }


def _bare_floor(data: dict) -> dict | None:
    return next((floor for floor in data["floors"] if floor["route"] == "GET /bare"), None)


def _latency_ceiling(data: dict, users: int) -> str:
    """Little's law for a closed loop: mean latency = users / throughput, for the bare endpoint too."""
    bare = _bare_floor(data)
    if not bare or not bare["rps"]:
        return ""
    return (
        f"even the bare endpoint: {users} users / {bare['rps']:.0f} req/s = {users / bare['rps'] * 1000:.1f} ms "
        f"mean; ≤ {TARGET_P95_MS:.0f} ms needs > {users / (TARGET_P95_MS / 1000):.0f} req/s"
    )


def _activation_ceiling(data: dict, branch: dict) -> str:
    """If every request of an activation were as cheap as the bare endpoint."""
    bare = _bare_floor(data)
    done = branch["completed"] + branch["finished_late"]
    if not bare or not done:
        return ""
    per_activation = sum(route["requests"] for route in branch["routes"]) / done
    return (
        f"{per_activation:.0f} requests per activation at the bare endpoint's {bare['rps']:.0f} req/s: "
        f"{bare['rps'] / per_activation:.1f}/s"
    )


def _no_hashing_pages(data: dict):
    """The page sweep's pages and the requests of branches that hash no password."""
    for page in data["pages"]:
        yield "alone", page
    for branch in data["branches"]:
        if branch["branch"] not in HASHING_BRANCHES:
            for route in branch["routes"]:
                yield f"in {branch['branch']}", route


# ---- Markdown ----


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(results: dict) -> str:
    setup = results["setup"]
    lines = ["# Benchmark results", ""]
    lines += _setup_lines(setup, results["databases"])
    lines += ["", "## Targets", ""]
    lines += _table(
        ["Target", "Database", "Met", "Measured", "Missed by", "Ceiling on this machine"],
        [
            [
                t["target"],
                LABELS[t["database"]],
                "yes" if t["met"] else "**no**",
                t["measured"],
                "; ".join(t["misses"][:6]) + (" …" if len(t["misses"]) > 6 else "") or "—",
                t["ceiling"] or "—",
            ]
            for t in results["targets"]
        ],
    )
    lines += [
        "",
        "The ceilings come from this run's own bare-endpoint floor, on the same cores as the client: "
        "a target above its ceiling cannot be met by any page on this machine, however fast.",
    ]
    lines += ["", "## Activations per branch", ""]
    lines += _branch_table(results)
    for database, data in results["databases"].items():
        if data["pages"]:
            lines += [
                "",
                f"## Pages alone, {LABELS[database]} ({setup['users']} users, {setup['page_seconds']:.0f} s "
                "each, after warm-up)",
                "",
            ]
            lines += _page_table(data["floors"] + data["pages"])
            lines += [
                f"\nLeft out (the flow failed before them): {failure}" for failure in data.get("page_failures", [])
            ]
    for database, data in results["databases"].items():
        lines += [
            "",
            f"## Requests within activations, {LABELS[database]} (per route template)",
            "",
            "† hashes a password (werkzeug scrypt); its latency is reported, not held to the 25 ms target.",
            "",
        ]
        lines += _route_table(data["branches"])
    if results.get("scale_out"):
        lines += ["", "## Scale-out: two gunicorn instances, one PostgreSQL", ""]
        lines += _scale_lines(results["scale_out"], setup)
    return "\n".join(lines) + "\n"


def _setup_lines(setup: dict, databases: dict) -> list[str]:
    shape = setup["gunicorn"]
    hashing = setup.get("password_hash")
    lines = [
        f"Run {setup['started']} on {setup['machine']}; `make bench` took {setup.get('wall_seconds', 0):.0f} s.",
        "",
        f"- Server: gunicorn {shape['worker_class']}, {shape['workers']} workers × {shape['threads']} threads, "
        "127.0.0.1, `APP_ENV=production` (fresh `SECRET_KEY`/`ISV_KEY`), real SMTP sink (aiosmtpd), no access log.",
        f"- Client: {setup['users']} concurrent users (threads, httpx, keep-alive), closed loop without think time, "
        "on the same 2 cores as the server.",
        f"- Each measurement: {setup['warmup_seconds']:.0f} s warm-up (not counted), then pages "
        f"{setup['page_seconds']:.0f} s, branches {setup['branch_seconds']:.0f} s"
        + (f", scale-out {setup['scale_out_seconds']:.0f} s per branch." if setup.get("scale_out_seconds") else "."),
        "- Raised for the run (all users share 127.0.0.1): "
        + ", ".join(f"`{k}={v}`" for k, v in setup["raised_limits"].items())
        + "; per-address code limits unchanged (each customer has its own addresses).",
    ]
    loads = [f"{setup['load_average_at_start'][0]:.2f} before the run"] if "load_average_at_start" in setup else []
    loads += [
        f"{data['load_average_after'][0]:.2f} after {LABELS[name]}"
        for name, data in databases.items()
        if "load_average_after" in data
    ]
    if loads:
        lines.append(
            "- Machine load (1-minute load average; anything else running competes for the same 2 cores): "
            + ", ".join(loads)
            + "."
        )
    if hashing:
        lines.append(
            f"- Password hashing (`{hashing['method']}`), one core, median of {hashing['rounds']}: "
            f"hash {hashing['generate_ms']:.0f} ms, check {hashing['check_ms']:.0f} ms."
        )
    return lines


def _branch_table(results: dict) -> list[str]:
    databases = list(results["databases"])
    header = ["Branch"]
    for database in databases:
        header += [f"{LABELS[database]} activations/s", "done / failed", "activation p50 / p95 ms"]
    rows = []
    branches = [b["branch"] for b in next(iter(results["databases"].values()))["branches"]] if databases else []
    for name in branches:
        row = [BRANCH_NAMES[name]]
        for database in databases:
            branch = next(b for b in results["databases"][database]["branches"] if b["branch"] == name)
            rate = f"{branch['activations_per_s']:.1f}" + (
                " (customers used up)" if branch["customers_used_up"] else ""
            )
            row += [
                rate,
                f"{branch['completed'] + branch['finished_late']} / {branch['failed']}",
                f"{branch['activation_p50_ms']:.0f} / {branch['activation_p95_ms']:.0f}",
            ]
        rows.append(row)
    return _table(header, rows)


def _page_table(pages: list[dict]) -> list[str]:
    rows = [
        [
            p["name"],
            f"`{p['route']}`",
            f"{p['rps']:.0f}",
            _ms(p["p50_ms"]),
            _ms(p["p95_ms"]),
            _ms(p["p99_ms"]),
            _ratio(p.get("x_bare")),
            _ratio(p.get("x_form")),
        ]
        for p in pages
    ]
    return _table(["Page", "Route", "req/s", "p50 ms", "p95 ms", "p99 ms", "× bare", "× form"], rows)


def _route_table(branches: list[dict]) -> list[str]:
    rows = []
    for branch in branches:
        for route in branch["routes"]:
            mark = " †" if route["hashes_password"] else ""
            rows.append(
                [
                    branch["branch"],
                    f"`{route['route']}`{mark}",
                    f"{route['rps']:.1f}",
                    _ms(route["p50_ms"]),
                    _ms(route["p95_ms"]),
                    _ms(route["p99_ms"]),
                    _ratio(route["x_bare"]),
                    _ratio(route["x_form"]),
                ]
            )
    return _table(["Branch", "Route", "req/s", "p50 ms", "p95 ms", "p99 ms", "× bare", "× form"], rows)


def _scale_lines(scale: dict, setup: dict) -> list[str]:
    shape = setup["gunicorn"]
    lines = [
        f"{scale['instances']} instances of {shape['workers']} workers × {shape['threads']} threads on the same "
        "2 cores (so not faster: this shows that nothing lives in a worker); every user alternates between "
        "the instances request by request, its session cookie going to both.",
        "",
    ]
    rows = [
        [
            BRANCH_NAMES[b["branch"]],
            f"{b['activations_per_s']:.1f}",
            str(b["completed"] + b["finished_late"]),
            str(b["failed"]),
        ]
        for b in scale["branches"]
    ]
    lines += _table(["Branch", "activations/s", "completed", "failed"], rows)
    lines += ["", f"Every activation succeeded: **{'yes' if scale['all_succeeded'] else 'no'}**."]
    return lines


# ---- Chart ----


def draw_chart(results: dict, path: Path) -> bool:
    """p50/p95/p99 per page (alone, and within activations) per database; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    databases = list(results["databases"])
    if not databases:
        return False
    panels = [
        [("alone", data["floors"] + data["pages"]), ("within activations", _merged_routes(data))]
        for data in results["databases"].values()
    ]
    rows = max(len(panel[1]) for column in panels for panel in column) or 1
    figure, axes = plt.subplots(
        2,
        len(databases),
        figsize=(9 * len(databases), 0.32 * rows + 9),
        squeeze=False,
        gridspec_kw={"height_ratios": [1, 2]},
    )
    for column, (database, panel_pair) in enumerate(zip(databases, panels, strict=True)):
        for row, (title, pages) in enumerate(panel_pair):
            _bars(axes[row][column], pages, f"{LABELS[database]}: pages {title}")
    figure.suptitle(
        f"Latency per page, {results['setup']['users']} concurrent users, gunicorn "
        f"{results['setup']['gunicorn']['workers']}×{results['setup']['gunicorn']['threads']} on 2 cores"
    )
    figure.legend(*axes[0][0].get_legend_handles_labels(), loc="upper right", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True


def _merged_routes(data: dict) -> list[dict]:
    """One bar per route of the bind branch, then the routes only the other branches have."""
    seen, routes = set(), []
    for branch in data["branches"]:
        for route in branch["routes"]:
            if route["route"] not in seen:
                seen.add(route["route"])
                routes.append({**route, "name": f"{route['route']} [{branch['branch']}]"})
    return routes


def _bars(axis, pages: list[dict], title: str) -> None:
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    labels = [_label(p) for p in pages]
    positions = range(len(pages))
    axis.barh([y + 0.27 for y in positions], [p["p50_ms"] for p in pages], height=0.27, label="p50", color="#4c9be8")
    axis.barh(list(positions), [p["p95_ms"] for p in pages], height=0.27, label="p95", color="#f0a030")
    axis.barh([y - 0.27 for y in positions], [p["p99_ms"] for p in pages], height=0.27, label="p99", color="#d0504a")
    axis.axvline(TARGET_P95_MS, color="black", linestyle="--", linewidth=1, label=f"{TARGET_P95_MS:.0f} ms target")
    axis.set_yticks(list(positions), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log axis overlap
    axis.set_xlabel("ms (log scale)")
    axis.set_title(title, fontsize=10)


def _label(page: dict) -> str:
    """ASCII labels (the chart's font has no CJK): the route, the floor, the hashing mark."""
    if page.get("name", "").startswith("floor"):
        return page["name"]
    label = page.get("name") if "[" in page.get("name", "") else page["route"]
    return label + (" (hashes password)" if page["route"] in HASHING_ROUTES else "")
