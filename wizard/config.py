"""Settings in three layers: these defaults, then the environment, then the mapping given to create_app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

# Development-only secrets: production refuses to start with them (see check_production).
DEV_SECRET_KEY = "dev-secret-key-not-for-production"
DEV_ISV_KEY = "dev-isv-key"


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message is one line meant for the operator."""


def _defaults() -> dict[str, Any]:
    return {
        "APP_ENV": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "ISV_KEY": DEV_ISV_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{INSTANCE_DIR / 'wizard.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Marketplace simulator: where it calls the Guance side's SPI (None: this application's own /spi).
        "SPI_URL": None,
        "SPI_TIMEOUT": 5.0,
        # An httpx transport for the simulator's SPI calls (tests use a WSGI transport); None: real HTTP.
        "SPI_TRANSPORT": None,
        # Where the Guance side sends a customer back to (已购买的服务); the real one is Alibaba's console.
        "MARKETPLACE_CONSOLE_URL": "/market/instances",
        # Public base URL of the Guance side used in SPI answers (None: taken from the SPI request).
        "PUBLIC_BASE_URL": None,
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
    "development": {},
    "testing": {"TESTING": True, "SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True},
    "production": {
        "SECRET_KEY": None,
        "ISV_KEY": None,
        "DEV_MAILBOX": False,
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
    },
}

# Environment variable -> parser. Only names listed here are read from the environment.
_ENVIRONMENT: dict[str, Any] = {
    "SECRET_KEY": str,
    "ISV_KEY": str,
    "SPI_URL": str,
    "SPI_TIMEOUT": float,
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
    settings = _defaults() | _PROFILES[profile] | {"APP_ENV": profile}
    settings |= _from_environment(environ)
    settings |= overrides
    settings |= derived(settings)
    if profile == "production":
        check_production(settings)
    return settings


def derived(settings: Mapping[str, Any]) -> dict[str, Any]:
    """What follows from other settings: where limits are counted, how long a stored session may live."""
    storage = settings.get("RATELIMIT_STORAGE_URI") or settings["REDIS_URL"] or "database://"
    return {"RATELIMIT_STORAGE_URI": storage, "PERMANENT_SESSION_LIFETIME": settings["SESSION_LIFETIME_SECONDS"]}


def check_production(settings: Mapping[str, Any]) -> None:
    for name, dev_value in (("SECRET_KEY", DEV_SECRET_KEY), ("ISV_KEY", DEV_ISV_KEY)):
        if not settings.get(name) or settings[name] == dev_value:
            raise ConfigError(f"{name} must be set in the environment when APP_ENV=production.")
