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


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message is one line meant for the operator."""


def _defaults(environ: Mapping[str, str]) -> dict[str, Any]:
    port, market_port = environ.get("PORT") or "5000", environ.get("MARKET_PORT") or "5001"
    return {
        "APP_ENV": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "ISV_KEY": DEV_ISV_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{INSTANCE_DIR / 'wizard.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # The marketplace: where a customer buys (the front page links there) and 已购买的服务, where
        # 免登 starts. Development: the simulator of `make run`; production: Alibaba Cloud's.
        "MARKETPLACE_URL": f"http://127.0.0.1:{market_port}/",
        "MARKETPLACE_CONSOLE_URL": f"http://127.0.0.1:{market_port}/instances",
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
        "RATELIMIT_STORAGE_URI": "memory://",
        # Reverse proxies in front of the app (0: none); needed for the per-IP limits to see clients.
        "PROXY_COUNT": 0,
        "RATELIMIT_HEADERS_ENABLED": True,
        # Verification codes (services/codes.py): lifetime, resend cooldown and the limits on guessing and sending.
        "CODE_TTL_SECONDS": 600,
        "CODE_RESEND_SECONDS": 60,
        "CODE_MAX_ATTEMPTS": 5,
        "CODE_SENDS_PER_KEY_PER_HOUR": 5,
        "CODE_SENDS_PER_IP_PER_HOUR": 20,
        # Password logins (POST /login/pwd) one client IP may try in a minute; then 429.
        "LOGIN_ATTEMPTS_PER_MINUTE": 10,
        # How long R1's answers wait for R2 (services/registration.py).
        "REGISTRATION_DRAFT_TTL_SECONDS": 3600,
        # After activation (services/lifecycle.py): an expired instance's workspace locks after this
        # many days, with reminders that many days before; 立即解锁 links last this long.
        "LOCK_COUNTDOWN_DAYS": 14,
        "LOCK_REMINDER_DAYS": (7, 1),
        "UNLOCK_LINK_TTL_SECONDS": 1800,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "SESSION_COOKIE_NAME": "guance_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ("zh", "en"),
    }


_PROFILES: dict[str, dict[str, Any]] = {
    "development": {},
    "testing": {
        "TESTING": True,
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
        "PUBLIC_BASE_URL": "http://localhost",
    },
    "production": {
        "SECRET_KEY": None,
        "ISV_KEY": None,
        "PUBLIC_BASE_URL": None,
        "MARKETPLACE_URL": "https://market.aliyun.com/",
        "MARKETPLACE_CONSOLE_URL": "https://market.console.aliyun.com/",
        "DEV_MAILBOX": False,
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
    },
}

# Environment variable -> parser. Only names listed here are read from the environment.
_ENVIRONMENT: dict[str, Any] = {
    "SECRET_KEY": str,
    "ISV_KEY": str,
    "MARKETPLACE_URL": str,
    "MARKETPLACE_CONSOLE_URL": str,
    "PUBLIC_BASE_URL": str,
    "SSO_WINDOW_SECONDS": int,
    "SSO_TIMEZONE": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": lambda v: v.lower() in {"1", "true", "yes"},
    "MAIL_USE_SSL": lambda v: v.lower() in {"1", "true", "yes"},
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_TIMEOUT": float,
    "DEV_MAILBOX_DIR": str,
    "RATELIMIT_STORAGE_URI": str,
    "PROXY_COUNT": int,
    "CODE_TTL_SECONDS": int,
    "CODE_RESEND_SECONDS": int,
    "CODE_MAX_ATTEMPTS": int,
    "CODE_SENDS_PER_KEY_PER_HOUR": int,
    "CODE_SENDS_PER_IP_PER_HOUR": int,
    "LOGIN_ATTEMPTS_PER_MINUTE": int,
    "REGISTRATION_DRAFT_TTL_SECONDS": int,
    "LOCK_COUNTDOWN_DAYS": float,
    "LOCK_REMINDER_DAYS": lambda v: tuple(int(days) for days in v.split(",") if days.strip()),
    "UNLOCK_LINK_TTL_SECONDS": int,
}


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
    check_lifecycle(settings)
    if profile == "production":
        check_production(settings)
    return settings


def check_lifecycle(settings: Mapping[str, Any]) -> None:
    if not settings["LOCK_COUNTDOWN_DAYS"] > 0:
        raise ConfigError("LOCK_COUNTDOWN_DAYS must be a number of days above 0 (e.g. 14, or 0.01 for a demo).")
    if any(days < 1 for days in settings["LOCK_REMINDER_DAYS"]):
        raise ConfigError("LOCK_REMINDER_DAYS must be whole days of at least 1, comma-separated, e.g. 7,1.")


def check_production(settings: Mapping[str, Any]) -> None:
    for name, dev_value in (("SECRET_KEY", DEV_SECRET_KEY), ("ISV_KEY", DEV_ISV_KEY), ("PUBLIC_BASE_URL", None)):
        if not settings.get(name) or settings[name] == dev_value:
            raise ConfigError(f"{name} must be set in the environment when APP_ENV=production.")
    base = urlsplit(settings["PUBLIC_BASE_URL"])
    if base.scheme not in ("http", "https") or not base.hostname or base.query or base.fragment:
        raise ConfigError("PUBLIC_BASE_URL must be an absolute http(s) URL, e.g. https://console.guance.example")
