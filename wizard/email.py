"""Outgoing email through Flask-Mail over SMTP; MAIL_TIMEOUT bounds every exchange with the server.

Both functions raise what smtplib raises (OSError, smtplib.SMTPException) when the server is
down, refuses, or stays silent. Only the queue's worker calls them (services/notices.py and
services/codes.py, from wizard/tasks.py): a raise there is a retry with backoff, never a page.
"""

from __future__ import annotations

from flask import current_app
from flask_mail import Message

from .extensions import mail


def send_email(subject: str, recipients: list[str], text_body: str, html_body: str) -> None:
    """Send one message with a text and an HTML part, now, from MAIL_DEFAULT_SENDER."""
    message = Message(
        subject,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        recipients=[*recipients],  # Flask-Mail's list also takes (name, address) pairs
        body=text_body,
        html=html_body,
    )
    mail.send(message)


def check_mail_server() -> None:
    """Open an SMTP session and close it again, sending nothing: fails exactly as send_email would."""
    with mail.connect() as connection:
        if connection.host is not None:
            connection.host.noop()
