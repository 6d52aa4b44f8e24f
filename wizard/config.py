"""Settings in three layers: these defaults, then the environment, then the mapping given to create_app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

# Development-only secrets: production refuses to start with them (see check_production).
DEV_SECRET_KEY = "dev-secret-key-not-for-production"
DEV_ISV_KEY = "dev-isv-key"
# The AccessKey pair of the market API in development: the marketplace simulator's defaults are the same.
DEV_ACCESS_KEY_ID = "LTAI5tGuanceDevIsv0001"
DEV_ACCESS_KEY_SECRET = "dev-market-access-key-secret"


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message is one line meant for the operator."""


def _defaults(environ: Mapping[str, str]) -> dict[str, Any]:
    port, market_port = environ.get("PORT") or "5000", environ.get("MARKET_PORT") or "5001"
    return {
        "APP_ENV": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "ISV_KEY": DEV_ISV_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{INSTANCE_DIR / 'wizard.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": None,  # None: engine_options() by the database
        # The marketplace: where a customer buys (the front page links there) and 已购买的服务, where
        # 免登 starts. Development: the simulator of `make run`; production: Alibaba Cloud's.
        "MARKETPLACE_URL": f"http://127.0.0.1:{market_port}/",
        "MARKETPLACE_CONSOLE_URL": f"http://127.0.0.1:{market_port}/instances",
        # The help link of the registration pages (the bind pages' help reopens their guide, B0).
        "HELP_URL": "https://docs.guance.com/plans/commercial-aliyun/",
        # This application's public address: authUrl and frontEndUrl in SPI answers are built on it,
        # never on a request's Host header. Required in production.
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SSO_WINDOW_SECONDS": 300,
        "SSO_TIMEZONE": "Asia/Shanghai",
        "MARKET_LOGIN_MAX_AGE": 3600,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 8025,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "观测云 <no-reply@guance.example>",
        "MAIL_TIMEOUT": 10.0,
        "MAIL_SUPPRESS_SEND": False,
        "DEV_MAILBOX": True,
        "DEV_MAILBOX_DIR": str(INSTANCE_DIR / "devmail"),
        # Redis for sessions, rate limits and login throttling (None: all of them in the database).
        "REDIS_URL": None,
        # Reverse proxies in front of the app (0: none); needed for the per-IP limits to see clients.
        "PROXY_COUNT": 0,
        "RATELIMIT_HEADERS_ENABLED": True,
        # Verification codes (services/codes.py): lifetime, resend cooldown and the limits on guessing and sending.
        "CODE_TTL_SECONDS": 600,
        "CODE_RESEND_SECONDS": 60,
        "CODE_MAX_ATTEMPTS": 5,
        "CODE_SENDS_PER_KEY_PER_HOUR": 5,
        "CODE_SENDS_PER_IP_PER_HOUR": 20,
        # 获取验证码 one wizard login (Aliyun account) may ask for in an hour: below the per-address cap, so
        # nobody can use up someone else's codes alone.
        "CODE_SENDS_PER_SESSION_PER_HOUR": 4,
        # Live strength checks (POST /password/strength, a pause in typing each) one client IP may ask for.
        "PASSWORD_CHECKS_PER_IP_PER_MINUTE": 60,
        # Password logins (POST /login/pwd) one client IP may try in a minute; then 429.
        "LOGIN_ATTEMPTS_PER_MINUTE": 10,
        # Per account (services/login_throttle.py): free failures, then a doubling wait up to the
        # maximum, and a hard cap an hour after which the account refuses password logins.
        "LOGIN_FAILURES_BEFORE_DELAY": 5,
        "LOGIN_DELAY_MAX_SECONDS": 30,
        "LOGIN_FAILURES_PER_HOUR": 100,
        # Server-side sessions (wizard/sessions.py): absolute lifetime from login or 免登, and idle timeout.
        "SESSION_LIFETIME_SECONDS": 8 * 3600,
        "SESSION_IDLE_SECONDS": 30 * 60,
        # How long the 免登 confirmation (another Aliyun account is mid-flow) waits for 继续.
        "LOGIN_FREE_CONFIRM_SECONDS": 300,
        # Forms are small: anything larger gets the styled 413 before a form is parsed.
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # How long R1's answers wait for R2 (services/registration.py).
        "REGISTRATION_DRAFT_TTL_SECONDS": 3600,
        # The task queue (wizard/tasks.py): on REDIS_URL (above) when it is set, else a SQLite file.
        "QUEUE_SQLITE_PATH": str(INSTANCE_DIR / "queue.db"),
        "QUEUE_NAME": "guance-wizard",
        # Run each task at once in the caller's thread instead of queueing it (the testing profile).
        "QUEUE_IMMEDIATE": False,
        # A task that raises is retried this many times, the n-th retry after DELAY x BACKOFF^(n-1)
        # seconds: 8 retries over ~8 minutes outlast a 5-minute SMTP outage within a code's 10 minutes.
        "QUEUE_RETRIES": 8,
        "QUEUE_RETRY_DELAY_SECONDS": 10.0,
        "QUEUE_RETRY_BACKOFF": 1.5,
        # The market API (PushMeteringData) through Alibaba Cloud's SDK: development talks to the
        # simulator of `make run`; production to market.aliyuncs.com over HTTPS.
        "MARKET_API_ENDPOINT": f"127.0.0.1:{market_port}",
        "MARKET_API_PROTOCOL": "http",
        "MARKET_ACCESS_KEY_ID": DEV_ACCESS_KEY_ID,
        "MARKET_ACCESS_KEY_SECRET": DEV_ACCESS_KEY_SECRET,
        "MARKET_API_SIGNATURE": "v3",
        "MARKET_API_TIMEOUT": 10.0,
        # Metering (services/metering.py): usage entity -> the product's metering key on the marketplace.
        "METERING_KEYS": {"data_points": "DataPoints", "api_calls": "ApiCalls"},
        "METERING_BATCH_SIZE": 100,
        "METERING_REQUEST_INTERVAL_SECONDS": 65,
        "METERING_CLOSE_DELAY_SECONDS": 300,
        "METERING_DEADLINE_MARGIN_SECONDS": 120,
        "METERING_RETRY_SECONDS": 60,
        "METERING_RETRY_MAX_SECONDS": 600,
        "METERING_LOOKBACK_HOURS": 168,
        # After activation (services/lifecycle.py): an expired instance's workspace locks after this
        # many days, with reminders that many days before; 立即解锁 links last this long.
        "LOCK_COUNTDOWN_DAYS": 14,
        "LOCK_REMINDER_DAYS": (7, 1),
        "UNLOCK_LINK_TTL_SECONDS": 1800,
        # Observability (wizard/observability/): the log level of the JSON lines, and /metrics's bearer
        # token (unset: /metrics answers loopback only).
        "LOG_LEVEL": "INFO",
        "METRICS_TOKEN": None,
        # The operators' console (/ops/, services/ops/): its own idle timeout, the TOTP issuer shown in
        # authenticator apps, when an activation counts as stuck, rows per page, the key that encrypts
        # TOTP and webhook secrets at rest (unset: derived from SECRET_KEY).
        "OPS_SESSION_IDLE_SECONDS": 15 * 60,
        "OPS_TOTP_ISSUER": "Guance Ops",
        "OPS_STUCK_AFTER_MINUTES": 60,
        "OPS_PAGE_SIZE": 50,
        "OPS_SECRETS_KEY": None,
        # Outbound webhooks (services/ops/webhooks.py): loopback and private addresses are refused unless
        # allowed (development and tests post to 127.0.0.1), the timeout, and the retries' backoff.
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": False,
        "WEBHOOK_TIMEOUT_SECONDS": 5.0,
        "WEBHOOK_MAX_ATTEMPTS": 10,
        "WEBHOOK_RETRY_SECONDS": 30,
        "WEBHOOK_RETRY_MAX_SECONDS": 3600,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "SESSION_COOKIE_NAME": "guance_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # The cookie ends with the browser; the server ends the session (SESSION_*_SECONDS above).
        "SESSION_PERMANENT": False,
        "SESSION_REFRESH_EACH_REQUEST": False,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ("zh", "en"),
    }


_PROFILES: dict[str, dict[str, Any]] = {
    "development": {"WEBHOOK_ALLOW_PRIVATE_ADDRESSES": True},
    # Tasks run inside the request that enqueues them, so a test finds the mail as soon as it answers.
    "testing": {
        "TESTING": True,
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
        "PUBLIC_BASE_URL": "http://localhost",
        "QUEUE_IMMEDIATE": True,
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": True,
    },
    "production": {
        "SECRET_KEY": None,
        "ISV_KEY": None,
        "PUBLIC_BASE_URL": None,
        "MARKETPLACE_URL": "https://market.aliyun.com/",
        "MARKETPLACE_CONSOLE_URL": "https://market.console.aliyun.com/",
        "MARKET_API_ENDPOINT": "market.aliyuncs.com",
        "MARKET_API_PROTOCOL": "https",
        "MARKET_ACCESS_KEY_ID": None,
        "MARKET_ACCESS_KEY_SECRET": None,
        "DEV_MAILBOX": False,
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
    },
}


def _flag(value: str) -> bool:
    return value.lower() in {"1", "true", "yes"}


# Environment variable -> parser. Only names listed here are read from the environment.
_ENVIRONMENT: dict[str, Any] = {
    "SECRET_KEY": str,
    "ISV_KEY": str,
    "MARKETPLACE_URL": str,
    "MARKETPLACE_CONSOLE_URL": str,
    "HELP_URL": str,
    "PUBLIC_BASE_URL": str,
    "SSO_WINDOW_SECONDS": int,
    "SSO_TIMEZONE": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": _flag,
    "MAIL_USE_SSL": _flag,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_TIMEOUT": float,
    "DEV_MAILBOX_DIR": str,
    "REDIS_URL": str,
    "PROXY_COUNT": int,
    "CODE_TTL_SECONDS": int,
    "CODE_RESEND_SECONDS": int,
    "CODE_MAX_ATTEMPTS": int,
    "CODE_SENDS_PER_KEY_PER_HOUR": int,
    "CODE_SENDS_PER_IP_PER_HOUR": int,
    "CODE_SENDS_PER_SESSION_PER_HOUR": int,
    "PASSWORD_CHECKS_PER_IP_PER_MINUTE": int,
    "LOGIN_ATTEMPTS_PER_MINUTE": int,
    "LOGIN_FAILURES_BEFORE_DELAY": int,
    "LOGIN_DELAY_MAX_SECONDS": int,
    "LOGIN_FAILURES_PER_HOUR": int,
    "SESSION_LIFETIME_SECONDS": int,
    "SESSION_IDLE_SECONDS": int,
    "LOGIN_FREE_CONFIRM_SECONDS": int,
    "REGISTRATION_DRAFT_TTL_SECONDS": int,
    "QUEUE_SQLITE_PATH": str,
    "QUEUE_NAME": str,
    "QUEUE_IMMEDIATE": _flag,
    "QUEUE_RETRIES": int,
    "QUEUE_RETRY_DELAY_SECONDS": float,
    "QUEUE_RETRY_BACKOFF": float,
    "MARKET_API_ENDPOINT": str,
    "MARKET_API_PROTOCOL": lambda v: _one_of(v, ("http", "https")),
    "MARKET_ACCESS_KEY_ID": str,
    "MARKET_ACCESS_KEY_SECRET": str,
    "MARKET_API_SIGNATURE": lambda v: _one_of(v, ("v3", "v2")),
    "MARKET_API_TIMEOUT": float,
    "METERING_KEYS": lambda v: parse_pairs(v),
    "METERING_BATCH_SIZE": lambda v: _bounded(int(v), 1, 100),
    "METERING_REQUEST_INTERVAL_SECONDS": int,
    "METERING_CLOSE_DELAY_SECONDS": int,
    "METERING_DEADLINE_MARGIN_SECONDS": int,
    "METERING_RETRY_SECONDS": int,
    "METERING_RETRY_MAX_SECONDS": int,
    "METERING_LOOKBACK_HOURS": int,
    "LOCK_COUNTDOWN_DAYS": float,
    "LOCK_REMINDER_DAYS": lambda v: tuple(int(days) for days in v.split(",") if days.strip()),
    "UNLOCK_LINK_TTL_SECONDS": int,
    "LOG_LEVEL": lambda v: _one_of(v, ("debug", "info", "warning", "error")).upper(),
    "METRICS_TOKEN": str,
    "OPS_SESSION_IDLE_SECONDS": int,
    "OPS_TOTP_ISSUER": str,
    "OPS_STUCK_AFTER_MINUTES": int,
    "OPS_PAGE_SIZE": lambda v: _bounded(int(v), 10, 500),
    "OPS_SECRETS_KEY": str,
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": _flag,
    "WEBHOOK_TIMEOUT_SECONDS": float,
    "WEBHOOK_MAX_ATTEMPTS": lambda v: _bounded(int(v), 1, 50),
    "WEBHOOK_RETRY_SECONDS": int,
    "WEBHOOK_RETRY_MAX_SECONDS": int,
}


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise ValueError(f"use one of {', '.join(allowed)}")
    return value.lower()


def _bounded(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"use {low} to {high}")
    return value


def parse_pairs(text: str) -> dict[str, str]:
    """`name=Key,name=Key`, as METERING_KEYS is written."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, key = (part.strip() for part in item.partition("="))
        if not name or not key:
            raise ValueError(f"{item!r} is not name=Key")
        pairs[name] = key
    return pairs


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, parse in _ENVIRONMENT.items():
        if environ.get(name):
            try:
                settings[name] = parse(environ[name])
            except ValueError as error:
                raise ConfigError(f"{name}={environ[name]!r} is not valid: {error}") from None
    if environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = database_uri(environ["DATABASE_URL"])
    return settings


def database_uri(url: str) -> str:
    """Accept the usual postgres:// and postgresql:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the settings of one application: defaults, profile, environment, overrides."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    profile = overrides.get("APP_ENV") or environ.get("APP_ENV") or "development"
    if profile not in _PROFILES:
        raise ConfigError(f"APP_ENV={profile!r} is not one of {', '.join(_PROFILES)}")
    settings = _defaults(environ) | _PROFILES[profile] | {"APP_ENV": profile}
    settings |= _from_environment(environ)
    settings |= overrides
    if settings["SQLALCHEMY_ENGINE_OPTIONS"] is None:
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(settings["SQLALCHEMY_DATABASE_URI"])
    check_lifecycle(settings)
    settings |= derived(settings)
    if profile == "production":
        check_production(settings)
    return settings


def engine_options(uri: str) -> dict[str, Any]:
    """A database server can drop pooled connections (a restart, a failover): test each one before a
    request uses it. A SQLite file cannot, and the test would cost every request a query."""
    return {"pool_pre_ping": not uri.startswith("sqlite")}


def check_lifecycle(settings: Mapping[str, Any]) -> None:
    if not settings["LOCK_COUNTDOWN_DAYS"] > 0:
        raise ConfigError("LOCK_COUNTDOWN_DAYS must be a number of days above 0 (e.g. 14, or 0.01 for a demo).")
    if any(days < 1 for days in settings["LOCK_REMINDER_DAYS"]):
        raise ConfigError("LOCK_REMINDER_DAYS must be whole days of at least 1, comma-separated, e.g. 7,1.")


def derived(settings: Mapping[str, Any]) -> dict[str, Any]:
    """What follows from other settings: where limits are counted, how long a stored session may live."""
    storage = settings.get("RATELIMIT_STORAGE_URI") or settings["REDIS_URL"] or "database://"
    return {"RATELIMIT_STORAGE_URI": storage, "PERMANENT_SESSION_LIFETIME": settings["SESSION_LIFETIME_SECONDS"]}


def check_production(settings: Mapping[str, Any]) -> None:
    for name, dev_value in (("SECRET_KEY", DEV_SECRET_KEY), ("ISV_KEY", DEV_ISV_KEY), ("PUBLIC_BASE_URL", None)):
        if not settings.get(name) or settings[name] == dev_value:
            raise ConfigError(f"{name} must be set in the environment when APP_ENV=production.")
    base = urlsplit(settings["PUBLIC_BASE_URL"])
    if base.scheme not in ("http", "https") or not base.hostname or base.query or base.fragment:
        raise ConfigError("PUBLIC_BASE_URL must be an absolute http(s) URL, e.g. https://console.guance.example")
