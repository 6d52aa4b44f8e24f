"""Run a Makefile target's own recipe from the tests, with the tools of the interpreter running them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make(target: str, installed: str = ".venv/.dev", **variables: str) -> subprocess.CompletedProcess:
    """`make <target>` with BIN set to this interpreter's bin/ and `installed` (the virtualenv stamp the
    target depends on) taken as up to date (-o), so nothing is installed; raises when the recipe fails."""
    settings = [f"{name}={value}" for name, value in {"BIN": Path(sys.executable).parent, **variables}.items()]
    command = ["make", "--no-print-directory", "-o", installed, *settings, target]
    return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
