"""The benchmark's machinery, briefly: gunicorn, the SMTP sink, wrk with both Lua scripts, a report.

No timing is asserted: only that wrk drove what it was given and every figure was collected.
"""

import json
from contextlib import ExitStack

from bench.cpu import CpuMeter
from bench.pages import Load, Page, floor_sessions, hammer
from bench.report import write_reports
from bench.run import Options, run
from bench.servers import Secrets, ServerShape, serve_floor

SHORT = Load(connections=2, threads=1, seconds=1.0, warmup=0.0)


def test_wrk_walks_whole_activations_and_the_report_is_written(tmp_path):
    options = Options(
        databases=("sqlite",),
        branches=("bind",),
        activations=4,
        load=SHORT,
        shape=ServerShape(workers=1, threads=4),
        pages=False,
        experiments=False,
        profile=None,
        scale_out=False,
        code_tries=2,
    )
    results = run(options, log=lambda _line: None)
    paths = write_reports(results, tmp_path)

    bind = results["databases"]["sqlite"]["branches"][0]
    assert (bind["completed"], bind["failed"]) == (4, 0), bind["failures"]
    assert [p["customers"] for p in bind["phases"]] == [4, 4]  # before and after the code is read from the mail
    assert bind["cpu_seconds"]["server"] > 0 and bind["wrk_cpu_ms_per_activation"] is not None
    assert {r["route"] for r in bind["routes"]} >= {"POST /codes/send", "POST /bind/workspaces/<id>"}
    assert {p.name for p in paths} >= {"latest.json", "latest.md"}
    assert json.loads((tmp_path / "latest.json").read_text())["databases"]["sqlite"]["branches"][0]["branch"] == "bind"
    timing = results["databases"]["sqlite"]["codes_timing"]
    assert {row["purpose"] for row in timing["purposes"]} == {"bind_billing", "create_workspace"}
    assert all(row[side]["tries"] == 2 for row in timing["purposes"] for side in ("account", "nobody"))
    report = (tmp_path / "latest.md").read_text()
    assert "a bind activation ≤ 25 ms of server CPU" in report
    assert "POST /codes/send for an account and for nobody" in report


def test_wrk_hammers_a_page_with_each_session_and_counts_other_answers(tmp_path):
    with ExitStack() as stack:
        floor = serve_floor(stack, Secrets.fresh(), ServerShape(workers=1, threads=2), tmp_path)
        meter = CpuMeter({"server": [floor.pid]})
        sessions = floor_sessions(floor.url, SHORT.connections)["/form"]
        assert all(s["cookie"].startswith("session=") for s in sessions)
        form = hammer(floor.url, Page("form", "GET /form"), sessions, SHORT, meter, tmp_path)
        missing = [{"path": "/missing", "cookie": ""}]
        lost = hammer(floor.url, Page("missing", "GET /missing"), missing, SHORT, meter, tmp_path)

    assert form["requests"] > 0 and form["unexpected_statuses"] == {} and form["server_cpu_ms_per_request"] > 0
    assert lost["unexpected_statuses"] == {"404": lost["requests"]}


def test_the_operators_console_bench_loads_serves_and_measures(postgres, tmp_path):
    """bench.ops at a tiny size: the bulk load satisfies every constraint, the operator signs in with TOTP,
    every page answers 200 on that data, wrk measures two, the report is written."""
    from bench import ops

    options = ops.Options(ops.Sizes(instances=200, audit_rows=2000), SHORT, ServerShape(workers=1, threads=2))
    with ExitStack() as stack:
        results = ops.measure(
            stack, postgres, "ops_smoke", options, log=lambda _line: None, hammered=("instances", "instance timeline")
        )
    assert [page["name"] for page in results["pages"]] == ["instances", "instance timeline"]
    assert all(page["requests"] > 0 and not page["unexpected_statuses"] for page in results["pages"])
    ops.write(results, tmp_path)
    assert "| instance timeline |" in (tmp_path / "ops.md").read_text()
