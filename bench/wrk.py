"""wrk, the load generator: a C event loop driven by the Lua scripts in bench/wrk/.

wrk's own CPU time (user + system, all its threads) comes from the kernel when it ends: the
rusage that wait4() returns is what /proc/<pid>/stat held at its exit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "wrk"
REQUEST_TIMEOUT = "30s"  # wrk's default of 2 s would count a slow hashing POST as lost


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk not found (apt-get install wrk; scripts/system-deps.sh does it)")
    return found


def lua_literal(value) -> str:
    """Python data as a Lua expression: dicts with string keys, lists, strings, numbers, booleans."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def write_data(directory: Path, data: object) -> Path:
    """The run's input for the Lua script, as a file it loads with dofile()."""
    handle, name = tempfile.mkstemp(prefix="wrk-", suffix=".lua", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write("return " + lua_literal(data) + "\n")
    return Path(name)


@dataclass
class WrkOutcome:
    output: str  # what wrk printed (its summary, then the script's BENCH line if any)
    cpu_seconds: float  # wrk's user + system time
    wall_seconds: float
    exit_code: int

    def bench_line(self) -> dict:
        for line in self.output.splitlines():
            if line.startswith("BENCH "):
                return json.loads(line[len("BENCH ") :])
        raise RuntimeError(f"wrk printed no result (exit {self.exit_code}):\n{self.output[-2000:]}")


class Wrk:
    """One wrk process: start(), then finish() (or interrupt() once the script's work is done)."""

    def __init__(self, script: str, url: str, data_file: Path, threads: int, connections: int, seconds: float):
        self.command = [
            wrk_binary(),
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={REQUEST_TIMEOUT}",
            f"--script={SCRIPTS / script}",
            url,
            "--",
            str(data_file),
            str(threads),
        ]
        self.log = data_file.with_suffix(".out")
        self.process: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> Wrk:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        return self

    def exited(self) -> bool:
        """Whether wrk has ended, leaving it for finish() to reap (its rusage goes with the reaping)."""
        state = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return state is not None

    def interrupt(self) -> None:
        """wrk sleeps out its whole --duration even when every thread has stopped; SIGINT ends the sleep."""
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)

    def finish(self) -> WrkOutcome:
        _pid, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        return WrkOutcome(
            output=self.log.read_text(errors="replace"),
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            wall_seconds=time.monotonic() - self.started,
            exit_code=self.process.returncode,
        )

    def kill(self) -> None:
        """On the way out after an error: never leave wrk running."""
        if self.process and self.process.returncode is None:
            self.process.kill()
            self.finish()
