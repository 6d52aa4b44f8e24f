"""Verification codes as the customers read them: from the SMTP sink's Maildir, all at once."""

from __future__ import annotations

import time

from devtools.smtp import SmtpSink


class Inbox:
    """Between two segments every waiting customer reads its code; then the Maildir is emptied,
    so reading costs the same at the end of a run as at the start."""

    def __init__(self, sink: SmtpSink, timeout: float = 30.0) -> None:
        self.sink = sink
        self.timeout = timeout

    def take_codes(self, emails: set[str]) -> dict[str, str]:
        """Lower-cased address -> code, waiting for mail still on its way (a queue) as long as some
        arrived within the last `timeout` seconds: hundreds of codes queued at once on a loaded
        machine can take the worker longer than that in all, and are not lost for it."""
        wanted = {email.lower() for email in emails}
        deadline, arrived = time.monotonic() + self.timeout, 0
        while True:
            codes = self.sink.codes()
            if wanted <= codes.keys():
                break
            if len(codes) > arrived:
                deadline, arrived = time.monotonic() + self.timeout, len(codes)
            elif time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.sink.clear()
        return {email: code for email, code in codes.items() if email in wanted}

    def take_code(self, email: str) -> str:
        """One customer's code (the page sweep's preparation, one customer at a time)."""
        code = self.take_codes({email}).get(email.lower())
        if code is None:
            raise LookupError(f"no code mailed to {email}")
        return code

    # The customer driver's mailbox (devtools/customer.py Mailbox): one customer reading its own mail.

    def messages(self, to: str | None = None) -> list:
        return self.sink.messages(to=to)

    def last_code(self, to: str) -> str:
        return self.sink.last_code(to)
