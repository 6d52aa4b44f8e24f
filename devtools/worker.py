"""The queue's worker (`flask queue worker`) in a process of its own, for tests and the benchmark."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .processes import stop

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    """`flask queue worker` in a process of its own, stopped by its pid."""

    def __init__(self, environ: dict[str, str], log: Path, root: Path = ROOT) -> None:
        self.environ, self.log, self.root = environ, log, root
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "queue", "worker", "--workers", "2"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=self.environ, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_ready(self, timeout: float = 30.0) -> Worker:
        """Until the consumer says it started (its log), so a measurement does not time its start-up."""
        deadline = time.monotonic() + timeout
        while "Huey consumer started" not in self.output():
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the worker exited at start-up:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start within {timeout:.0f} s:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """SIGTERM: the worker finishes the task in hand and exits."""
        stop(self.process, timeout=30)
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
