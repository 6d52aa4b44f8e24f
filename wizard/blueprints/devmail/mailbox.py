"""Read and receive the development mailbox, a Maildir filled by a local aiosmtpd sink."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


@dataclass(frozen=True)
class DevMessage:
    key: str
    to: str
    subject: str
    received_at: datetime
    text: str
    html: str | None


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else None


def _parse(key: str, raw: bytes, delivered: float) -> DevMessage:
    message = message_from_bytes(raw, policy=policy.default)
    return DevMessage(
        key=key,
        # The envelope (recorded by the sink) says who really received it; the To header may not.
        to=str(message.get("X-RcptTo") or message.get("To", "")),
        subject=str(message.get("Subject", "")),
        received_at=datetime.fromtimestamp(delivered, UTC),
        text=_part(message, "plain") or "",
        html=_part(message, "html"),
    )


def read_messages(directory: str | Path, to: str | None = None) -> list[DevMessage]:
    """Messages newest first, optionally only those addressed to `to` (case-insensitive)."""
    if not Path(directory, "cur").is_dir():
        return []
    box = mailbox.Maildir(directory, create=False)
    # Parsing is the slow part: skip, unparsed, a message whose bytes do not even contain the address.
    wanted = to.lower().encode() if to and to.isascii() else None
    messages = []
    for key in box.keys():  # noqa: SIM118  (iterating a Mailbox yields messages, not keys)
        try:
            raw = box.get_bytes(key)
            if wanted is None or wanted in raw.lower():
                messages.append(_parse(key, raw, box.get_message(key).get_date()))
        except (KeyError, FileNotFoundError):  # removed while we were reading
            continue
    if to:
        messages = [m for m in messages if to.lower() in m.to.lower()]
    return sorted(messages, key=lambda m: m.received_at, reverse=True)


def clear_messages(directory: str | Path) -> None:
    if Path(directory, "cur").is_dir():
        mailbox.Maildir(directory, create=False).clear()


def start_sink(
    directory: str | Path, host: str = "127.0.0.1", port: int = 8025, handler: Mailbox | None = None
) -> Controller:
    """An SMTP server on `host:port` that stores every message it accepts in the Maildir."""
    # Maildir() only creates its subfolders when the top folder is new; make them either way.
    for folder in ("tmp", "new", "cur"):
        Path(directory, folder).mkdir(parents=True, exist_ok=True)
    controller = Controller(handler or Mailbox(Path(directory)), hostname=host, port=port)
    controller.start()
    return controller
