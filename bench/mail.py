"""Verification codes as the customer reads them: from the SMTP sink's Maildir."""

from __future__ import annotations

import mailbox
import time

from devtools.smtp import SmtpSink


class Inbox:
    """Reads a code with SmtpSink.last_code, then deletes that address's mail.

    last_code parses every message in the Maildir; deleting what was read keeps the Maildir at
    about one message per user, so reading a code costs the same at the end of a run as at the start.
    """

    def __init__(self, sink: SmtpSink, timeout: float = 10.0) -> None:
        self.sink = sink
        self.timeout = timeout

    def take_code(self, email: str) -> str:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                code = self.sink.last_code(email)
                break
            except LookupError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)  # the mail is stored before the server answers; this is only a guard
        self._delete(email)
        return code

    def _delete(self, email: str) -> None:
        box = mailbox.Maildir(self.sink.maildir, create=False)
        for message in self.sink.messages(to=email):
            box.discard(message.key)
