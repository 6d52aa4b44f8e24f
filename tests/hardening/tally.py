"""What the hardening suite really ran: cases and failures per category, printed at the end of the run.

A test counts each case it executes with `TALLY.case(category)` (a failure is an exception out of
the block), or adds a batch it ran itself with `TALLY.add`. A hardening test that fails outside any
counted case (a fixture, say) still adds one failure to its category (see conftest.py).
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

CATEGORIES = {
    "fuzz": "1 fuzzing: forms, pages and the SPI",
    "tampering": "2 SPI and login-free tampering",
    "races": "3 races on PostgreSQL",
    "faults": "4 faults: SMTP, PostgreSQL, SPI",
    "web": "5 web security",
    "marketplace": "6 the marketplace simulator, another party",
}


@dataclass
class Count:
    cases: int = 0
    failures: int = 0
    details: Counter = field(default_factory=Counter)  # e.g. requests sent, accepted inputs


class Tally:
    def __init__(self) -> None:
        self.counts = {category: Count() for category in CATEGORIES}

    @contextmanager
    def case(self, category: str):
        """One case: counted when it starts, a failure if an exception leaves the block."""
        count = self.counts[category]
        count.cases += 1
        try:
            yield
        except Exception:
            count.failures += 1
            raise

    def add(self, category: str, cases: int, failures: int = 0) -> None:
        self.counts[category].cases += cases
        self.counts[category].failures += failures

    def note(self, category: str, what: str, amount: int = 1) -> None:
        """A detail shown next to the counts (requests sent, inputs the product accepted...)."""
        self.counts[category].details[what] += amount

    def failures(self) -> int:
        return sum(count.failures for count in self.counts.values())

    def lines(self) -> list[str]:
        width = max(len(label) for label in CATEGORIES.values())
        lines = []
        for category, label in CATEGORIES.items():
            count = self.counts[category]
            if not count.cases and not count.failures:
                continue
            details = ", ".join(f"{amount} {what}" for what, amount in sorted(count.details.items()))
            lines.append(
                f"{label:<{width}}  {count.cases:>6} cases, {count.failures} failures"
                + (f"  ({details})" if details else "")
            )
        return lines


TALLY = Tally()
