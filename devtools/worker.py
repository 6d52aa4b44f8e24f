"""The queue's worker (`flask queue worker`) in a process of its own, for tests and the benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .processes import stop

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    """`flask queue worker` in a process of its own, stopped by its pid."""

    def __init__(self, environ: dict[str, str], log: Path) -> None:
        self.environ, self.log = environ, log
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "queue", "worker", "--workers", "2"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.environ, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        """SIGTERM: the worker finishes the task in hand and exits."""
        stop(self.process, timeout=30)
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
