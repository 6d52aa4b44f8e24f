"""The simulator's settings: these defaults, then the environment, then the mapping given to create_app.

It is another party than the Guance side, so it has settings of its own: its own secret, database
and cookies. The two share only what Alibaba Cloud and an ISV share: the ISV key, and the SPI URL
the ISV registered with the marketplace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
DEV_SECRET_KEY = "dev-marketplace-secret-key-not-for-production"
DEV_ISV_KEY = "dev-isv-key"
# The ISV's AccessKey pair for the market API, in development: the Guance side's defaults are the same.
DEV_ACCESS_KEY_ID = "LTAI5tGuanceDevIsv0001"
DEV_ACCESS_KEY_SECRET = "dev-market-access-key-secret"
DEFAULT_PRICE_LIST = "DataPoints=0.000002,ApiCalls=0.0001"


def parse_prices(text: str) -> dict[str, Decimal]:
    """`Key=price,Key=price` (yuan per unit), as the PRICE_LIST setting is written."""
    prices = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, price = item.partition("=")
        value = Decimal(price.strip())
        if not key.strip() or value < 0:
            raise ValueError(f"{item!r} is not Key=price")
        prices[key.strip()] = value
    return prices


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message is one line meant for the operator."""


def _defaults(environ: Mapping[str, str]) -> dict[str, Any]:
    guance_port = environ.get("PORT") or "5000"
    return {
        "APP_ENV": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "ISV_KEY": DEV_ISV_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{INSTANCE_DIR / 'marketplace.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # The ISV's SPI endpoint, as registered with the marketplace: never derived from a request.
        "SPI_URL": f"http://127.0.0.1:{guance_port}/spi",
        # Where the ISV's authUrl and frontEndUrl must live (None: the SPI URL's origin).
        "ISV_PUBLIC_URL": None,
        "SPI_TIMEOUT": 5.0,
        # An httpx transport for SPI calls (tests hand the Guance application in); None: real HTTP.
        "SPI_TRANSPORT": None,
        "MARKET_TIMEZONE": "Asia/Shanghai",
        # The simulator's queue (tasks.py): the periodic retry of orders 开通中.
        "QUEUE_SQLITE_PATH": str(INSTANCE_DIR / "marketplace-queue.db"),
        # The market API (PushMeteringData): the ISV's AccessKey pair and products, the price list
        # of the metering items (yuan per unit), and the gateway's rules.
        "MARKET_ACCESS_KEY_ID": DEV_ACCESS_KEY_ID,
        "MARKET_ACCESS_KEY_SECRET": DEV_ACCESS_KEY_SECRET,
        "ISV_PRODUCT_CODES": ("cmgj00053362",),
        "PRICE_LIST": parse_prices(DEFAULT_PRICE_LIST),
        "API_SIGNATURE_WINDOW_SECONDS": 900,
        "METERING_MAX_RECORDS": 100,
        "METERING_REQUEST_INTERVAL_SECONDS": 60,
        "WTF_CSRF_TIME_LIMIT": 3600,
        # Cookie names of their own: on 127.0.0.1 a browser sends one host's cookies to every port.
        "SESSION_COOKIE_NAME": "aliyun_market_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "BUYER_COOKIE": "aliyun_market_buyer",
        "LANGUAGE_COOKIE": "aliyun_market_lang",
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ("zh", "en"),
    }


_PROFILES: dict[str, dict[str, Any]] = {
    "development": {},
    "testing": {"TESTING": True, "SESSION_COOKIE_SECURE": True},
    "production": {
        "SECRET_KEY": None,
        "ISV_KEY": None,
        "MARKET_ACCESS_KEY_SECRET": None,
        "SESSION_COOKIE_SECURE": True,
    },
}

# Environment variable -> (setting, parser).
_ENVIRONMENT: dict[str, tuple[str, Any]] = {
    "MARKET_SECRET_KEY": ("SECRET_KEY", str),
    "ISV_KEY": ("ISV_KEY", str),
    "MARKET_DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SPI_URL": ("SPI_URL", str),
    "ISV_PUBLIC_URL": ("ISV_PUBLIC_URL", str),
    "SPI_TIMEOUT": ("SPI_TIMEOUT", float),
    "MARKET_QUEUE_SQLITE_PATH": ("QUEUE_SQLITE_PATH", str),
    "MARKET_ACCESS_KEY_ID": ("MARKET_ACCESS_KEY_ID", str),
    "MARKET_ACCESS_KEY_SECRET": ("MARKET_ACCESS_KEY_SECRET", str),
    "ISV_PRODUCT_CODES": (
        "ISV_PRODUCT_CODES",
        lambda value: tuple(filter(None, (v.strip() for v in value.split(",")))),
    ),
    "PRICE_LIST": ("PRICE_LIST", lambda value: parse_prices(value)),
}


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for variable, (name, parse) in _ENVIRONMENT.items():
        if environ.get(variable):
            try:
                settings[name] = parse(environ[variable])
            except (ValueError, InvalidOperation) as error:
                raise ConfigError(f"{variable}={environ[variable]!r} is not valid: {error}") from None
    return settings


def origin_of(url: str) -> str:
    """scheme://host[:port] of an absolute http(s) URL; ConfigError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url!r} is not an absolute http(s) URL")
    return f"{parts.scheme}://{parts.netloc}".lower()


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    profile = overrides.get("APP_ENV") or environ.get("APP_ENV") or "development"
    if profile not in _PROFILES:
        raise ConfigError(f"APP_ENV={profile!r} is not one of {', '.join(_PROFILES)}")
    settings = _defaults(environ) | _PROFILES[profile] | {"APP_ENV": profile}
    settings |= _from_environment(environ) | overrides
    if profile == "production":
        for name, variable, dev_value in (("SECRET_KEY", "MARKET_SECRET_KEY", DEV_SECRET_KEY),
                                          ("ISV_KEY", "ISV_KEY", DEV_ISV_KEY),
                                          ("MARKET_ACCESS_KEY_SECRET", "MARKET_ACCESS_KEY_SECRET",
                                           DEV_ACCESS_KEY_SECRET)):  # fmt: skip
            if not settings.get(name) or settings[name] == dev_value:
                raise ConfigError(f"{variable} must be set in the environment when APP_ENV=production.")
    settings["ISV_ORIGIN"] = origin_of(settings["ISV_PUBLIC_URL"] or settings["SPI_URL"])
    return settings
