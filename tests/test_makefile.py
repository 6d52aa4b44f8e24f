"""Every Makefile target works on a fresh clone.

`make -n -B <target>` prints every command the target would run from scratch (venv included). Each
command must exist: a program of the virtualenv is installed by a requirement file pinned for that
target (what `make run` installs is requirements.txt only), `python -m x` names a module of the project
or of such a requirement, a script is in the repository; and each accepts its arguments (`--help`
for subcommands and options, pytest collects with them). The cheap targets also run for real: here
`make translations`, and `make docs` in tests/test_docs_site.py.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from devtools.make import make

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"
VENV_BIN = ".venv/bin/"
FROM_THE_VENV = {"python", "pip"}  # made by `python -m venv` itself
SHELL_BUILTINS = {"echo", "exit", "true", "cd", "test", "["}
OPERATORS = {"||", "&&", ";", "|", "{", "}", "(", ")"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Every make variable a target's commands may read from the environment: none is set for the dry run.
CALLER_VARIABLES = ("PYTEST_ARGS", "BENCH_ARGS", "SITE", "PYTHON")


def phony_targets() -> list[str]:
    return re.search(r"^\.PHONY:(.*)$", MAKEFILE.read_text(), re.MULTILINE).group(1).split()


def clean_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in CALLER_VARIABLES + ("MAKEFLAGS",)}


@cache
def dry_run(target: str) -> tuple[tuple[str, ...], ...]:
    """The commands `make` would run for `target` in a fresh clone, split at shell operators."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    return tuple(command for line in printed.splitlines() for command in split_commands(line))


def split_commands(line: str) -> list[tuple[str, ...]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current = [], []
    for token in [*lexer, ";"]:
        if token not in OPERATORS:
            current.append(token)
            continue
        words = current
        while words and ASSIGNMENT.match(words[0]):  # NAME=value before a command sets its environment
            words = words[1:]
        if words:
            commands.append(tuple(words))
        current = []
    return commands


def requirement_files(commands) -> list[Path]:
    """The files `pip install -r` reads for these commands."""
    return [ROOT / words[i + 1] for words in commands for i, word in enumerate(words[:-1]) if word == "-r"]


def pinned(files: list[Path]) -> set[str]:
    """Canonical names of the distributions pinned (name==version) in these files and those they include."""
    names = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("-r "):
                names |= pinned([path.parent / line[3:].strip()])
            elif "==" in line:
                names.add(canonical(re.split(r"[\[=]", line, maxsplit=1)[0]))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def script_providers() -> dict[str, str]:
    """Program name in the virtualenv's bin/ -> the distribution that installed it (from its RECORD)."""
    providers = {}
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or ():
            if len(file.parts) > 1 and file.parts[-2] == "bin":
                providers[file.name] = canonical(distribution.metadata["Name"])
    return providers


def module_provider(module: str) -> str | None:
    """'project' for the project's own packages, else the distribution that provides the module."""
    top = module.split(".")[0]
    if (ROOT / top).is_dir() or (ROOT / f"{top}.py").is_file():
        return "project" if importlib.util.find_spec(module) else None
    providers = importlib.metadata.packages_distributions().get(top, [])
    return canonical(providers[0]) if providers and importlib.util.find_spec(module) else None


def problems_with(words: tuple[str, ...], installed: set[str]) -> str | None:
    program = words[0]
    if program.startswith(VENV_BIN):
        name = program.removeprefix(VENV_BIN)
        if name == "python" and words[1:2] == ("-m",):
            provider = module_provider(words[2])
            return None if provider == "project" or provider in installed else f"python -m {words[2]}: {provider}"
        if name in FROM_THE_VENV:
            return None
        provider = script_providers().get(name)
        return None if provider in installed else f"{program} comes from {provider}, not pinned for this target"
    if program.startswith("./"):
        path = ROOT / program
        return None if path.is_file() and os.access(path, os.X_OK) else f"{program} is not an executable file"
    return None if program in SHELL_BUILTINS or shutil.which(program) else f"{program} is not installed"


@pytest.mark.parametrize("target", phony_targets())
def test_every_command_of_the_target_exists_or_is_pinned_for_it(target):
    commands = dry_run(target)
    installed = pinned(requirement_files(commands))
    assert commands, f"make -n {target} prints nothing"
    problems = [problem for words in commands if (problem := problems_with(words, installed))]
    assert not problems, f"make {target}: " + "; ".join(problems)


def probe(words: tuple[str, ...], installed: set[str]) -> list[str] | None:
    """A cheap run of a virtualenv command that fails if it does not take these arguments, or None.

    pytest runs without the plugins this target does not install, so `-n 2` fails unless pytest-xdist is
    pinned for it, even where a developer happens to have it installed."""
    here = str(Path(sys.executable).parent)
    if not words[0].startswith(VENV_BIN):
        return None
    command = [words[0].replace(VENV_BIN.rstrip("/"), here, 1), *words[1:]]
    name = Path(words[0]).name
    if name == "python" and words[1:3] == ("-m", "pytest"):
        if len(words) == 3:
            return None
        return [*command, *unpinned_pytest_plugins(installed), "--collect-only", "-q", "-p", "no:cacheprovider"]
    if name in FROM_THE_VENV:
        return None
    return [*command, "--help"]


def unpinned_pytest_plugins(installed: set[str]) -> list[str]:
    switches = []
    for plugin in importlib.metadata.entry_points(group="pytest11"):
        if canonical(plugin.dist.name) not in installed:
            switches += ["-p", f"no:{plugin.name}"]
    return switches


def run(command: list[str], environment: dict[str, str]) -> str | None:
    ran = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    return (
        None
        if ran.returncode == 0
        else f"{shlex.join(command)} -> {ran.returncode}\n{ran.stdout[-1500:]}{ran.stderr[-1500:]}"
    )


@pytest.mark.parametrize("target", [target for target in phony_targets() if target != "clean"])
def test_every_command_of_the_target_takes_its_arguments(target, tmp_path):
    commands = dry_run(target)
    installed = pinned(requirement_files(commands))
    environment = {**clean_environment(), "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}"}
    probes = [command for words in commands if (command := probe(words, installed))]
    with ThreadPoolExecutor(max_workers=4) as pool:  # each is a process start-up: run them side by side
        failures = [failure for failure in pool.map(lambda command: run(command, environment), probes) if failure]
    assert not failures, "\n".join(failures)


def test_every_target_is_phony_and_documented():
    """Each target is checked above (the list is .PHONY) and says what it does on a `## name:` line."""
    text = MAKEFILE.read_text()
    rules = set(re.findall(r"^([a-z][a-z-]*):", text, re.MULTILINE))
    documented = set(re.findall(r"^## ([a-z][a-z-]*):", text, re.MULTILINE))
    assert rules == set(phony_targets())
    assert rules - {"clean"} <= documented


def test_make_translations_compiles_the_catalogs():
    catalog = ROOT / "wizard" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
    before = catalog.stat().st_mtime_ns if catalog.exists() else 0
    make("translations", installed=".venv/.runtime")
    assert catalog.stat().st_mtime_ns > before and catalog.stat().st_size > 0
