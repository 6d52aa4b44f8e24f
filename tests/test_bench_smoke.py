"""The benchmark's machinery, briefly: gunicorn, SMTP sink, one branch, a report. No timing is asserted."""

import json

from bench.report import write_reports
from bench.run import Options, run
from bench.servers import ServerShape


def test_a_short_benchmark_completes_activations_and_writes_a_report(tmp_path):
    options = Options(
        databases=("sqlite",),
        branches=("bind",),
        users=2,
        shape=ServerShape(workers=1, threads=4),
        warmup=0.0,
        branch_seconds=2.0,
        pages=False,
        scale_out=False,
    )
    results = run(options, log=lambda _line: None)
    paths = write_reports(results, tmp_path)

    bind = results["databases"]["sqlite"]["branches"][0]
    assert bind["completed"] > 0 and bind["failed"] == 0, bind["failures"]
    assert {p.name for p in paths} >= {"latest.json", "latest.md"}
    assert json.loads((tmp_path / "latest.json").read_text())["databases"]["sqlite"]["branches"][0]["branch"] == "bind"
    assert "Activations per branch" in (tmp_path / "latest.md").read_text()
