"""CPU time of the processes under test, from /proc: what a request costs, whoever sends it.

A process's utime + stime (fields 14-15 of /proc/<pid>/stat) cover all its threads; cutime +
cstime (16-17) hold the children it has already waited for. So a gunicorn master plus its live
workers, or a PostgreSQL postmaster plus its live backends, account for every worker or backend
that ran, also one that ended meanwhile.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable, Mapping
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3, index 0


def children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_seconds(pid: int) -> float:
    """CPU seconds of `pid` and its children, live and ended."""
    ticks = 0
    for member in (pid, *children(pid)):
        fields = _fields(member)
        if fields is not None:
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / TICKS


def own_seconds() -> float:
    """This process (the benchmark's driver), all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds per role (server, database, mail sink), each the sum of some process trees."""

    def __init__(self, roles: Mapping[str, Iterable[int]]) -> None:
        self.roles = {role: tuple(pids) for role, pids in roles.items()}

    def read(self) -> dict[str, float]:
        reading = {role: sum(tree_seconds(pid) for pid in pids) for role, pids in self.roles.items()}
        reading["driver"] = own_seconds()
        return reading

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {role: round(after[role] - before[role], 3) for role in before}
