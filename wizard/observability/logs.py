"""Structured logs (structlog): one JSON line per request and per notable event, never a secret.

Every record, ours and the libraries' (Flask, SQLAlchemy, Huey, gunicorn through its config), goes
through one stdlib handler whose formatter is structlog's ProcessorFormatter, so each line is one JSON
object: time (UTC), level, logger, event, and what the request bound with `bind()`: request_id,
ali_uid and instance_id where known, the operator. Context lives in contextvars, so each request
thread (gunicorn's gthread) and each queued task has its own.

What a line may never hold: a password, a verification code, a token (SPI, 免登, CSRF, bearer), a
TOTP code or secret, a session id or cookie. `redact` replaces the value of any key whose name says
it is one of those, `scrub` cuts such values out of message texts (k=v pairs, SQLAlchemy's
"[parameters: ...]" in an exception), and the request line logs the path without its query string
(where the SPI and 免登 carry their tokens). tests/test_observability.py runs whole activations and an
operator's login with a log capture and finds none of the values typed or mailed.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

# Name parts that make a key sensitive (split on "_" and "-": "csrf_token", "totp-code"), and keys that
# only look so.
SENSITIVE_PARTS = {
    "password", "passwd", "secret", "token", "code", "codes", "session", "cookie", "authorization",
    "csrf", "totp", "otp", "seed", "signature", "key",
}  # fmt: skip
NOT_SENSITIVE = {"status_code", "event", "logger", "level", "timestamp"}
REDACTED = "[redacted]"
_PAIRS = re.compile(
    r"(?i)\b([\w-]*(?:password|passwd|secret|token|code|otp|session|cookie|signature|seed)[\w-]*)"
    r"(\s*[=:]\s*)([^\s&,;'\"\]\)]+)"
)
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\]( \(Background on this error)?", re.DOTALL)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+")


def sensitive(key: str) -> bool:
    if key in NOT_SENSITIVE:
        return False
    return any(part in SENSITIVE_PARTS for part in re.split(r"[_\-\s.]+", key.lower()))


def scrub(text: str) -> str:
    """The text without the values of secret-looking k=v pairs, SQL parameters or bearer tokens."""
    text = _SQL_PARAMETERS.sub(lambda m: "[parameters: redacted]" + (m.group(1) or ""), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _PAIRS.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if sensitive(str(k)) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def redact(_logger: WrappedLogger, _name: str | None, event: EventDict) -> EventDict:
    """structlog processor: no secret leaves, whatever a caller bound or wrote."""
    return {key: REDACTED if sensitive(key) else _clean(value) for key, value in event.items()}


def _stringify_positional(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    # A stdlib record's message is already formatted (%-args applied) by ProcessorFormatter.
    if not isinstance(event.get("event"), str):
        event["event"] = str(event.get("event"))
    return event


SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _stringify_positional,
            redact,
            structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
        ],
    )


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (a test's capture replaces it between tests)."""

    json_lines = True  # marks the handler create_app installs, so a second app replaces it

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr for the root logger (idempotent: a second application replaces the handler)."""
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "json_lines", False)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter())
    root.addHandler(handler)
    root.setLevel(level)
    # aiosmtpd (the development mailbox's SMTP sink) logs each line of a message at DEBUG: codes included.
    logging.getLogger("mail.log").setLevel(max(logging.getLevelName(level), logging.INFO))
    # Flask's app.logger adds a plain handler of its own when the root has none; ours is there now.
    logging.getLogger("wizard").setLevel(level)


def get_logger(name: str = "wizard"):
    return structlog.get_logger(name)


def bind(**values: Any) -> None:
    """Add to the current request's (or task's) log context; None values are left out."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def clear() -> None:
    structlog.contextvars.clear_contextvars()


def bound() -> dict:
    return structlog.contextvars.get_contextvars()


def gunicorn_logconfig(level: str = "INFO") -> dict:
    """logging.config dict for gunicorn's own loggers (its config: wizard/observability/gunicorn.py)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "wizard.observability.logs.formatter"}},
        "handlers": {"stderr": {"class": "wizard.observability.logs.StderrHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": level},
    }
