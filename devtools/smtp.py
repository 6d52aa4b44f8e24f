"""A real SMTP server on loopback for tests, end-to-end runs and the benchmark."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from wizard.blueprints.devmail.mailbox import DevMessage, clear_messages, read_messages, start_sink

from .ports import free_port

CODE = re.compile(r"\b(\d{6})\b")


class RefusingMailbox(Mailbox):
    """Stores what it accepts in the Maildir; answers the next `refusals` messages 451 (try again later)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.refusals = 0  # still to refuse
        self.refused = 0  # refused so far

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)


@dataclass
class SmtpSink:
    controller: Controller | None
    maildir: Path
    port: int

    @classmethod
    def start(cls, maildir: Path, port: int | None = None) -> SmtpSink:
        port = port or free_port()
        return cls(start_sink(maildir, port=port, handler=RefusingMailbox(maildir)), Path(maildir), port)

    def refuse(self, count: int) -> None:
        """Answer the next `count` messages with a 4xx (a temporary failure: the sender should retry)."""
        self.controller.handler.refusals = count

    @property
    def refused(self) -> int:
        return self.controller.handler.refused

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        clear_messages(self.maildir)

    def messages(self, to: str | None = None) -> list[DevMessage]:
        """Received messages, newest first."""
        return read_messages(self.maildir, to=to)

    def codes(self) -> dict[str, str]:
        """The newest code of every recipient (lower-cased address), each message parsed once."""
        found: dict[str, str] = {}
        for message in self.messages():  # newest first
            match = CODE.search(message.text)
            if match is not None:
                found.setdefault(message.to.lower(), match.group(1))
        return found

    def last_code(self, to: str) -> str:
        """The six-digit code of the newest message to `to`, as a reader would find it."""
        messages = self.messages(to=to)
        if not messages:
            raise LookupError(f"no message to {to}")
        match = CODE.search(messages[0].text)
        if match is None:
            raise LookupError(f"no code in the newest message to {to}")
        return match.group(1)
