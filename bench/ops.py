"""`python -m bench.ops`: the operators' console on a large PostgreSQL, each page's latency under wrk.

A throwaway PostgreSQL cluster (devtools/pgcluster.py) is migrated to the newest schema, then loaded
in bulk with SQL (generate_series, a few seconds a million rows): 100,000 marketplace instances (60%
activated, with their workspaces, billing-center accounts and bindings; the rest stopped at a step of
the wizard, some expired or released), their funnel events and progress, 1,000,000 SPI audit rows
(spi_call), 1,000,000 operator audit rows, metering hours (some failed), failed tasks, emails and a
webhook endpoint with its deliveries. The product is served by gunicorn as in production (gthread,
metrics in multiprocess mode); an operator signs in with password and TOTP (Python, not measured),
and wrk hammers each page of the console with that session (bench/wrk/pages.lua, every answer but 200
counted), a small concurrency at a time. The p95 of each page is written to bench/results/ops.md
(and ops.json); the target is 100 ms.

    python -m bench.ops                      # the full size (about 2 minutes of loading)
    python -m bench.ops --instances 2000 --audit-rows 20000 --seconds 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pyotp

from .browser import Browser
from .cpu import CpuMeter
from .pages import Load, Page, session
from .servers import Gunicorn, Secrets, ServerShape, postgres_cluster, product_env, workdir
from .wrk import Wrk, write_data

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_P95_MS = 100.0
OPERATOR, PASSWORD, SECRET = "bench_ops", "Night-Shift-Harbour-47", "BENCHOPSBENCHOPSBENCHOPSBENCHOPS"


@dataclass(frozen=True)
class Sizes:
    instances: int = 100_000
    audit_rows: int = 1_000_000  # SPI audit rows, and as many operator audit rows

    @property
    def workspaces(self) -> int:
        return self.instances * 6 // 10


# ---- Loading: one SQL statement per table, the rows derived from their number n ----

# Instance n (1..N): aliUid 139 + n, created n * 5 minutes before now (N of them span about a year);
# n % 10 < 6 is activated with workspace n; n % 20 == 7 expired; n % 20 == 19 released.
_INSTANCES = """
INSERT INTO guance_account (id, site, username, email, password_hash, created_at)
SELECT n, 'cn1', 'owner' || n, 'owner' || n || '@bench.example', 'x', now() - n * interval '5 minutes'
FROM generate_series(1, %(accounts)s) n;
INSERT INTO billing_account (id, username, email, password_hash, created_at)
SELECT n, 'billing' || n, 'billing' || n || '@bench.example', 'x', now() - n * interval '5 minutes'
FROM generate_series(1, %(accounts)s) n;
INSERT INTO workspace (id, name, language, style, site, owner_account_id, billing_account_id, created_at, status,
    token)
SELECT n, 'ws-' || n, 'zh', 'ops', 'cn1', n %% %(accounts)s + 1, n %% %(accounts)s + 1,
       now() - n * interval '5 minutes', 'active', 'tkn_' || md5(n::text)
FROM generate_series(1, %(instances)s) n WHERE n %% 10 < 6;
INSERT INTO workspace_member (workspace_id, account_id, role, created_at)
SELECT id, owner_account_id, 'owner', created_at FROM workspace;
INSERT INTO marketplace_instance (id, instance_id, ali_uid, order_id, product_code, sku_id, trial, expires_at, status,
    workspace_id, bound_at, released_at, created_at, updated_at, expired_at, language)
SELECT n, '5' || (1390000000000000 + n) || '000001', (1390000000000000 + n)::text,
       '2' || (1390000000000000 + n) || '000001', 'cmgj00053362', 'yuncode5336200001', false,
       now() + interval '300 days' - n * interval '5 minutes',
       CASE WHEN n %% 20 = 7 THEN 'expired' WHEN n %% 20 = 19 THEN 'released' ELSE 'active' END,
       CASE WHEN n %% 10 < 6 THEN n END, CASE WHEN n %% 10 < 6 THEN now() - n * interval '5 minutes' END,
       CASE WHEN n %% 20 = 19 THEN now() - n * interval '4 minutes' END,
       now() - n * interval '5 minutes', now() - n * interval '5 minutes',
       CASE WHEN n %% 20 = 7 THEN now() - n * interval '4 minutes' END, 'zh'
FROM generate_series(1, %(instances)s) n;
INSERT INTO cloud_account_binding (ali_uid, billing_account_id, created_at)
SELECT ali_uid, workspace_id %% %(accounts)s + 1, created_at FROM marketplace_instance WHERE workspace_id IS NOT NULL;
"""

# Each instance's path through the wizard: activated ones by bind (even n) or registration (odd n);
# the others stopped at G1 (n % 10 = 6, 7), B1 (8) or right after 免登 (9). A step every 2-4 minutes.
# The funnel's daily roll-up is what the product counts with each event (services/ops/funnel.py).
_FUNNEL = """
WITH path(kind, ord, step) AS (VALUES
    ('bind', 1, 'created'), ('bind', 2, 'login_free'), ('bind', 3, 'choose'), ('bind', 4, 'bind_billing'),
    ('bind', 5, 'bind_workspaces'), ('bind', 6, 'activated'),
    ('register', 1, 'created'), ('register', 2, 'login_free'), ('register', 3, 'choose'),
    ('register', 4, 'register_basic'), ('register', 5, 'register_company'), ('register', 6, 'register_activation'),
    ('register', 7, 'activated')),
instance AS (
    SELECT instance_id, ali_uid, created_at, id,
           CASE WHEN id %% 2 = 0 THEN 'bind' ELSE 'register' END AS kind,
           CASE WHEN id %% 10 < 6 THEN 99 WHEN id %% 10 IN (6, 7) THEN 3 WHEN id %% 10 = 8 THEN 4 ELSE 2 END AS last
    FROM marketplace_instance)
INSERT INTO funnel_event (instance_id, ali_uid, step, reached_at, entered_at, previous_step, seconds_on_previous)
SELECT i.instance_id, i.ali_uid, p.step, i.created_at + (p.ord - 1) * (120 + i.id %% 120) * interval '1 second',
       i.created_at, lag(p.step) OVER w, CASE WHEN p.ord > 1 THEN 120 + i.id %% 120 END
FROM instance i JOIN path p ON p.kind = i.kind AND p.ord <= i.last
WINDOW w AS (PARTITION BY i.instance_id ORDER BY p.ord);
INSERT INTO activation_progress (instance_id, ali_uid, step, reached_at, entered_at, activated_at)
SELECT DISTINCT ON (instance_id) instance_id, ali_uid, step, reached_at, entered_at,
       CASE WHEN step = 'activated' THEN reached_at END
FROM funnel_event ORDER BY instance_id, reached_at DESC;
INSERT INTO funnel_day (day, step, reached)
SELECT (entered_at AT TIME ZONE %(zone)s)::date, step, count(*) FROM funnel_event GROUP BY 1, 2;
INSERT INTO funnel_day_duration (day, step, seconds, departures)
SELECT (entered_at AT TIME ZONE %(zone)s)::date, previous_step, seconds_on_previous, count(*)
FROM funnel_event WHERE previous_step IS NOT NULL GROUP BY 1, 2, 3;
"""

# SPI call k (1..A) belongs to instance k % N + 1: its createInstance first, then 免登 (verify) and the
# lifecycle's calls, an hour apart; one in 50 refused (a stale or wrong token).
_AUDIT = """
INSERT INTO spi_call (action, params, outcome, created_at, instance_id)
SELECT a.action,
       json_build_object('action', a.action, 'instanceId', i.instance_id, 'aliUid', i.ali_uid,
                         'timeStamp', to_char(i.created_at, 'YYYY-MM-DD HH24:MI:SS')),
       CASE WHEN k %% 50 = 0 THEN 'invalid_token' ELSE 'ok' END,
       i.created_at + (k / %(instances)s) * interval '1 hour', i.instance_id
FROM generate_series(1, %(audit)s) k
JOIN marketplace_instance i ON i.id = k %% %(instances)s + 1
CROSS JOIN LATERAL (SELECT CASE WHEN k <= %(instances)s THEN 'createInstance'
                                WHEN k %% 7 = 0 THEN 'renewInstance' ELSE 'verify' END AS action) a;
INSERT INTO operator (id, username, password_hash, totp_secret, role, created_at)
SELECT n, 'ops' || n, 'x', 'x', 'operator', now() - interval '400 days' FROM generate_series(1000, 1009) n;
INSERT INTO operator_audit (operator_id, username, action, target_type, target_id, details, remote_addr, created_at)
SELECT 1000 + k %% 10, 'ops' || (1000 + k %% 10),
       CASE WHEN k %% 5 = 0 THEN 'signed_in' ELSE 'viewed_instance' END,
       CASE WHEN k %% 5 = 0 THEN NULL ELSE 'instance' END,
       CASE WHEN k %% 5 = 0 THEN NULL ELSE '5' || (1390000000000000 + k %% %(instances)s + 1) || '000001' END,
       '{}', '10.0.0.1', now() - k * interval '30 seconds'
FROM generate_series(1, %(audit)s) k;
"""

# Metering: 24 hours of every hundredth activated instance, two of them failed; failed tasks; an email
# per instance; a webhook endpoint with a delivery per activation.
_REST = """
INSERT INTO metering_hour (instance_id, workspace_id, hour_start, entities, status, attempts, solo, next_attempt_at,
    last_error, pushed_at, created_at)
SELECT i.id, i.workspace_id, date_trunc('hour', now()) - h * interval '1 hour', '{"data_points": 1000}',
       CASE WHEN h < 2 THEN 'failed' ELSE 'pushed' END, CASE WHEN h < 2 THEN 5 ELSE 1 END, false,
       now(), CASE WHEN h < 2 THEN 'InvalidParameter' END, CASE WHEN h >= 2 THEN now() END, now()
FROM marketplace_instance i CROSS JOIN generate_series(1, 24) h
WHERE i.workspace_id IS NOT NULL AND i.id %% 100 = 0;
INSERT INTO failed_task (task_id, name, args, error, status, attempts, first_failed_at, last_failed_at)
SELECT 'task' || n, 'deliver_notice', json_build_array(n), 'SMTPServerDisconnected', 'failed', 5,
       now() - n * interval '1 hour', now() - n * interval '1 hour'
FROM generate_series(1, 2000) n;
INSERT INTO email_notice (kind, recipient, language, template_values, delivery, created_at, delivered_at, instance_id)
SELECT 'workspace_bound', 'owner' || id || '@bench.example', 'zh', '{}', 'sent', bound_at, bound_at, instance_id
FROM marketplace_instance WHERE bound_at IS NOT NULL;
INSERT INTO webhook_endpoint (id, url, description, events, secret, secret_hint, created_at)
VALUES (1, 'https://hooks.bench.example/guance', 'bench', '["instance.activated"]', 'x', 'abcd', now());
INSERT INTO webhook_delivery (endpoint_id, event_id, event, instance_id, body, status, attempts, next_attempt_at,
    created_at, delivered_at)
SELECT 1, 'evt' || id, 'instance.activated', instance_id, '{}', 'delivered', 1, bound_at, bound_at, bound_at
FROM marketplace_instance WHERE bound_at IS NOT NULL;
"""


def load(cluster, database: str, keys: Secrets, sizes: Sizes, log) -> str:
    """A new database at the newest schema with the rows above, analysed; its URL."""
    url = cluster.create_database(database)
    zone = _migrate(url, keys)
    values = {
        "instances": sizes.instances, "accounts": max(1, sizes.instances // 4), "audit": sizes.audit_rows, "zone": zone,
    }  # fmt: skip
    dsn = f"host=127.0.0.1 port={cluster.port} user=postgres dbname={database}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        for name, script in (("instances", _INSTANCES), ("funnel", _FUNNEL), ("audit", _AUDIT), ("rest", _REST)):
            began = time.monotonic()
            for statement in filter(str.strip, script.split(";\n")):
                connection.execute(statement, values)
            log(f"loaded {name} in {time.monotonic() - began:.1f} s")
        for table in ("guance_account", "billing_account", "workspace", "marketplace_instance", "webhook_endpoint"):
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.execute("VACUUM ANALYZE")
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "marketplace_instance",
                "spi_call",
                "operator_audit",
                "funnel_event",
                "funnel_day_duration",
                "metering_hour",
            )
        }
    log(f"rows: {counts}")
    return url


def _migrate(url: str, keys: Secrets) -> str:
    """The newest schema and the bench's operator; the console's time zone (the funnel's days)."""
    from flask_migrate import upgrade

    from wizard import create_app
    from wizard.extensions import db, one_transaction
    from wizard.services.ops import operators

    app = create_app(_settings(url, keys))
    with app.app_context():
        upgrade()
        with one_transaction():  # as `flask ops create-operator` does it
            operators.create(OPERATOR, PASSWORD, SECRET)
        db.engine.dispose()
        return app.config["BABEL_DEFAULT_TIMEZONE"]


def _settings(url: str, keys: Secrets) -> dict:
    return {
        "APP_ENV": "production",
        "SECRET_KEY": keys.secret_key,
        "ISV_KEY": keys.isv_key,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "SQLALCHEMY_DATABASE_URI": url,
    }


# ---- Signing in and the pages ----


def sign_in(base: str) -> Browser:
    """Password, then the TOTP code (the first one enrols the operator); the browser holds the session."""
    browser = Browser([base])
    second = browser.submit("/ops/login", {"username": OPERATOR, "password": PASSWORD}).expect(
        302, at="/ops/login/totp"
    )
    browser.submit(second.location, {"code": pyotp.TOTP(SECRET).now()}).expect(302)
    return browser


def pages(browser: Browser, sizes: Sizes) -> list[tuple[Page, str]]:
    """Every page of the console, with the searches and filters an operator uses; deep pages by following
    the "next" link a few times (keyset cursors)."""
    n = sizes.instances // 2 + 3  # an instance in the middle: activated (n % 10 < 6), bind path
    uid = 1390000000000000 + n
    instance_id, workspace = f"5{uid}000001", f"ws-{n}"
    listed = [
        ("instances", "/ops/"),
        ("instances: aliUid", f"/ops/?field=ali_uid&q={uid}"),
        ("instances: instanceId", f"/ops/?field=instance_id&q={instance_id}"),
        ("instances: workspace prefix", f"/ops/?field=workspace&q={workspace}"),
        ("instances: billing account", f"/ops/?field=billing&q=billing{n % max(1, sizes.instances // 4) + 1}"),
        ("instances: any field", f"/ops/?q={uid}"),
        ("instances: waiting", "/ops/?status=waiting"),
        ("instances: expired", "/ops/?status=expired"),
        ("instance timeline", f"/ops/instances/{instance_id}"),
        ("SPI audit log", "/ops/spi"),
        ("SPI log: verify, refused", "/ops/spi?action=verify&outcome=invalid_token"),
        ("SPI log: one month", "/ops/spi?from=2025-01-01&to=2025-01-31"),
        ("SPI log: one instance", f"/ops/spi?instance={instance_id}"),
        ("stuck activations", "/ops/stuck"),
        ("stuck at G1", "/ops/stuck?step=choose"),
        ("funnel: 30 days", "/ops/funnel?days=30"),
        ("funnel: 90 days", "/ops/funnel?days=90"),
        ("funnel: a year", "/ops/funnel?from=2025-01-01&to=2025-12-31"),
        ("metering failures", "/ops/metering"),
        ("failed tasks", "/ops/tasks"),
        ("webhooks", "/ops/webhooks"),
        ("webhook deliveries", "/ops/webhooks/1"),
        ("operator audit", "/ops/audit"),
        ("operator audit: one operator", "/ops/audit?operator=ops1003"),
    ]
    listed += [
        (f"{name}: page 20", deep)
        for name, path in (("instances", "/ops/"), ("SPI audit log", "/ops/spi"), ("operator audit", "/ops/audit"))
        if (deep := _follow_next(browser, path, 19))
    ]
    return [(Page(name, f"GET {path}"), path) for name, path in listed]


def _follow_next(browser: Browser, path: str, times: int) -> str | None:
    for _ in range(times):
        found = browser.get(path).expect(200).find("a[rel=next][href]")
        if found is None:
            return None
        path = found["href"]
    return path


def hammer(base: str, page: Page, path: str, cookie: str, load: Load, meter: CpuMeter, directory: Path) -> dict:
    data_file = write_data(directory, {"expect": 200, "sessions": [{"path": path, "cookie": cookie}]})
    threads = min(load.threads, load.connections)
    if load.warmup > 0:
        Wrk("pages.lua", base, data_file, threads, load.connections, load.warmup).start().finish()
    before = meter.read()
    outcome = Wrk("pages.lua", base, data_file, threads, load.connections, load.seconds).start().finish()
    spent = CpuMeter.spent(before, meter.read())
    line = outcome.bench_line()
    requests, latency = line["requests"], line["latency_us"]
    return {
        "name": page.name,
        "path": path,
        "requests": requests,
        "rps": requests / (line["duration_us"] / 1e6) if line["duration_us"] else 0.0,
        "p50_ms": latency["p50"] / 1000,
        "p95_ms": latency["p95"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "unexpected_statuses": line["unexpected"],
        "socket_errors": line["socket_errors"] + line["timeouts"],
        "server_cpu_ms_per_request": spent["server"] * 1000 / requests if requests else None,
    }


# ---- The run and its report ----


@dataclass(frozen=True)
class Options:
    sizes: Sizes = Sizes()
    load: Load = Load(connections=4, threads=2, seconds=5.0, warmup=1.0)
    shape: ServerShape = ServerShape(workers=2, threads=4)


def run(options: Options, log=print) -> dict:
    with ExitStack() as stack:
        cluster = stack.enter_context(postgres_cluster())
        return measure(stack, cluster, "ops_bench", options, log)


def measure(stack: ExitStack, cluster, database: str, options: Options, log=print, hammered=None) -> dict:
    """Load `database` in `cluster`, serve it, sign in; every page must answer 200 once, then wrk measures
    each (or only those named in `hammered`)."""
    keys, directory = Secrets.fresh(), workdir(stack)
    load_at_start = _load_average()
    began = time.monotonic()
    url = load(cluster, database, keys, options.sizes, log)
    loading = time.monotonic() - began
    metrics_dir = directory / "metrics"
    metrics_dir.mkdir()
    env = {**product_env(url, 1, keys), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    server = Gunicorn("wsgi:app", env, options.shape, directory, config="python:wizard.observability.gunicorn")
    server.env = {**env, "PUBLIC_BASE_URL": server.url}
    stack.callback(server.stop)
    server.start("/healthz")
    browser = sign_in(server.url)
    stack.callback(browser.close)
    cookie = session(browser, "/ops/")["cookie"]
    meter = CpuMeter({"server": [server.pid]})
    listed = pages(browser, options.sizes)
    for _page, path in listed:
        browser.get(path).expect(200)  # or FlowError: a broken page is not measured
    results = []
    for page, path in listed:
        if hammered is None or page.name in hammered:
            results.append(hammer(server.url, page, path, cookie, options.load, meter, directory))
            log(f"{page.name:<34} p95 {results[-1]['p95_ms']:7.1f} ms  {results[-1]['rps']:6.0f}/s")
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} · {platform.processor() or platform.machine()} · {_cores()} cores",
        "sizes": asdict(options.sizes),
        "load": asdict(options.load),
        "shape": asdict(options.shape),
        "loading_seconds": round(loading, 1),
        "load_average": {"start": load_at_start, "end": _load_average()},
        "target_p95_ms": TARGET_P95_MS,
        "pages": results,
    }


def _load_average() -> float:
    """The machine's 1-minute load average: other work on a shared machine lengthens every latency."""
    import os

    return round(os.getloadavg()[0], 2)


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def write(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "ops.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "ops.md").write_text(report(results), encoding="utf-8")
    return [out / "ops.json", out / "ops.md"]


def report(results: dict) -> str:
    sizes, load = results["sizes"], results["load"]
    missed = [page for page in results["pages"] if page["p95_ms"] >= results["target_p95_ms"]]
    lines = [
        "# The operators' console on a large PostgreSQL",
        "",
        f"`python -m bench.ops` on {results['when']} ({results['machine']}): {sizes['instances']:,} instances, "
        f"{sizes['audit_rows']:,} SPI audit rows and as many operator audit rows (loaded in "
        f"{results['loading_seconds']} s); gunicorn {results['shape']['workers']} workers × "
        f"{results['shape']['threads']} threads; wrk {load['connections']} connections for {load['seconds']:g} s "
        "per page, signed in as an operator. Target: p95 under 100 ms on every page." + _load_sentence(results),
        "",
        f"**{len(results['pages']) - len(missed)} of {len(results['pages'])} pages under the target.**"
        + (" Missed: " + ", ".join(page["name"] for page in missed) + "." if missed else ""),
        "",
        "| Page | Path | Requests/s | p50 ms | p95 ms | p99 ms | Server CPU ms/request | Other answers |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for page in results["pages"]:
        cpu = page["server_cpu_ms_per_request"]
        other = ", ".join(f"{status}: {count}" for status, count in page["unexpected_statuses"].items()) or "—"
        path = page["path"] if len(page["path"]) <= 60 else page["path"][:57] + "..."
        lines.append(
            f"| {page['name']} | `{path}` | {page['rps']:.0f} | {page['p50_ms']:.1f} | {page['p95_ms']:.1f} | "
            f"{page['p99_ms']:.1f} | {'—' if cpu is None else f'{cpu:.1f}'} | {other} |"
        )
    return "\n".join(lines) + "\n"


def _load_sentence(results: dict) -> str:
    """The machine's load, when recorded: compare runs made under different loads only as ratios."""
    if "load_average" not in results:
        return ""
    seen = results["load_average"]
    return (
        f" Machine load (1-minute load average, {results['machine'].split(' · ')[-1]} shared with other work): "
        f"{seen['start']:g} at the start, {seen['end']:g} at the end."
    )


def parse(argv: list[str]) -> tuple[Options, Path]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench.ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=defaults.sizes.instances)
    parser.add_argument("--audit-rows", type=int, default=defaults.sizes.audit_rows)
    parser.add_argument("--connections", type=int, default=defaults.load.connections)
    parser.add_argument("--seconds", type=float, default=defaults.load.seconds, help="each page's measured run")
    parser.add_argument("--warmup", type=float, default=defaults.load.warmup)
    parser.add_argument("--workers", type=int, default=defaults.shape.workers)
    parser.add_argument("--threads", type=int, default=defaults.shape.threads)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    options = Options(
        Sizes(args.instances, args.audit_rows),
        Load(args.connections, min(2, args.connections), args.seconds, args.warmup),
        ServerShape(args.workers, args.threads),
    )
    return options, args.out


def main(argv: list[str] | None = None) -> int:
    options, out = parse(sys.argv[1:] if argv is None else argv)
    results = run(options)
    for path in write(results, out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
