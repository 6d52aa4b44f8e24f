"""Flame graphs of the gunicorn workers under load, sampled by py-spy from outside the process.

py-spy reads the workers' Python stacks through ptrace without pausing them (--nonblocking) and
follows the master's children (--subprocesses). A CPU graph shows where the cores go; with `idle`,
threads that wait (for the GIL, a lock, a socket) are sampled too, which shows where time goes under
concurrency.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path


def py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy not found (it is pinned in requirements-dev.txt)")
    return found


@contextmanager
def flame_graph(pid: int, output: Path, idle: bool = False, rate: int = 97):
    """Sample `pid` and its children while the block runs; write an SVG flame graph to `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    log = output.with_suffix(".log")
    command = [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", *(["--idle"] if idle else [])]
    command += ["--rate", str(rate), "--format", "flamegraph", "--output", str(output)]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    info = {"file": output.name}
    try:
        time.sleep(1.0)  # attached to every worker before the load starts
        yield info
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes the graph when interrupted
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        text = log.read_text(errors="replace")
        log.unlink(missing_ok=True)
        info["written"] = output.exists()
        if not info["written"]:
            print(f"py-spy wrote no flame graph:\n{text[-2000:]}", file=sys.stderr)
