"""Alibaba Cloud Marketplace SPI: the token rule and the time format, as both parties must apply them.

Token: take every parameter except `token` (URL-decoded values), sort by name, join as `k=v&k=v`,
append `&key=<ISV key>`, MD5, lower-case hex. Signed over whatever parameters arrive.

Times (`expiredOn`, `timeStamp`): `yyyy-MM-dd HH:mm:ss`, whole seconds, in the marketplace's time
zone (Asia/Shanghai for the China site).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MARKETPLACE_TIMEZONE = "Asia/Shanghai"

_HEX32 = re.compile(r"[0-9a-f]{32}")


def canonical_string(params: Mapping[str, str], key: str) -> str:
    pairs = sorted((name, value) for name, value in params.items() if name != "token")
    return "&".join(f"{name}={value}" for name, value in pairs) + f"&key={key}"


def sign(params: Mapping[str, str], key: str) -> str:
    return hashlib.md5(canonical_string(params, key).encode("utf-8")).hexdigest()


def is_valid(params: Mapping[str, str], key: str) -> bool:
    """True when `token` is present, well formed (32 lower-case hex) and matches the parameters."""
    token = params.get("token", "")
    if not _HEX32.fullmatch(token):
        return False
    return hmac.compare_digest(token, sign(params, key))


def signed(params: Mapping[str, str], key: str) -> dict[str, str]:
    """The parameters with their token added, ready to send."""
    values = {name: value for name, value in params.items() if name != "token"}
    return values | {"token": sign(values, key)}


def format_time(moment: datetime, timezone: str = MARKETPLACE_TIMEZONE) -> str:
    """An aware datetime as the protocol writes it."""
    return moment.astimezone(ZoneInfo(timezone)).strftime(TIME_FORMAT)


def parse_time(value: str, timezone: str = MARKETPLACE_TIMEZONE) -> datetime:
    """The protocol's time as an aware datetime; ValueError when it is not `yyyy-MM-dd HH:mm:ss`."""
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=ZoneInfo(timezone))
