"""How Alibaba Cloud authenticates an OpenAPI call, checked here as its gateway does.

The official SDK (tea-openapi) signs in one of two ways, and the gateway accepts both:

- V3, the SDK's default: an `Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,
  Signature=<hex>` header. The signature is HMAC-SHA256, keyed with the AccessKey secret, of
  "ACS3-HMAC-SHA256\\n" + hex(SHA256(canonical request)); the canonical request is the method, the
  path, the sorted percent-encoded query, the signed headers (lower-case name:trimmed value, one per
  line), their names joined by ";", and the hex SHA256 of the body (x-acs-content-sha256). The
  action, date and nonce travel as x-acs-action, x-acs-date and x-acs-signature-nonce.
- V2 (RPC, `signature_algorithm="v2"`): everything in the query: Action, AccessKeyId, Timestamp,
  SignatureNonce, SignatureMethod=HMAC-SHA1, SignatureVersion=1.0 and Signature, the Base64
  HMAC-SHA1 keyed with "<secret>&" of "<METHOD>&%2F&" + percent-encoded sorted "k=v&k=v".

Either way the timestamp must be within 15 minutes of the gateway's clock and the nonce new.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_plus

from werkzeug.wrappers import Request

from .errors import (
    ACCESS_KEY_NOT_FOUND,
    INCOMPLETE_SIGNATURE,
    SIGNATURE_MISMATCH,
    TIMESTAMP_EXPIRED,
    TIMESTAMP_FORMAT,
    ApiError,
    refused,
)

V3_ALGORITHM = "ACS3-HMAC-SHA256"
V3_REQUIRED_HEADERS = {
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
}
V2_REQUIRED = (
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Action",
)
TIMESTAMP_FORMAT_STRING = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Caller:
    """Who signed the request, and what it signed: the action, its parameters, the nonce and time."""

    access_key_id: str
    action: str
    version: str
    params: Mapping[str, str]
    nonce: str
    timestamp: datetime


def encode(value: str) -> str:
    """Percent-encoding as Alibaba Cloud signs it: everything but unreserved characters."""
    return quote(value, safe="~")


def single_values(request: Request) -> dict[str, str]:
    """The query and form parameters; a name given twice makes the signature ambiguous, so it is refused."""
    params: dict[str, str] = {}
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if name in params:
                raise refused(INCOMPLETE_SIGNATURE)
            params[name] = value
    return params


def parse_timestamp(value: str, now: datetime, window: timedelta) -> datetime:
    try:
        moment = datetime.strptime(value, TIMESTAMP_FORMAT_STRING).replace(tzinfo=UTC)
    except ValueError:
        raise refused(TIMESTAMP_FORMAT) from None
    if abs(now - moment) > window:
        raise refused(TIMESTAMP_EXPIRED)
    return moment


def secret_of(access_keys: Mapping[str, str], access_key_id: str) -> str:
    secret = access_keys.get(access_key_id)
    if not secret:
        raise refused(ACCESS_KEY_NOT_FOUND)
    return secret


def check(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise refused(SIGNATURE_MISMATCH)


def verify(request: Request, access_keys: Mapping[str, str], now: datetime, window: timedelta) -> Caller:
    """The signed caller of `request`, or ApiError with Alibaba's code (the nonce is checked by the caller)."""
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return verify_v3(request, authorization, access_keys, now, window)
    if "Signature" in request.args or "Signature" in request.form:
        return verify_v2(request, access_keys, now, window)
    raise ApiError("MissingAccessKeyId", 400, "AccessKeyId is mandatory for this action.")


# ---- V3: ACS3-HMAC-SHA256 ----


def authorization_fields(authorization: str) -> tuple[str, list[str], str]:
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != V3_ALGORITHM:
        raise ApiError(
            "InvalidAuthorization", 400, f"Specified signature algorithm {algorithm[:40]!r} is not supported."
        )
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    credential, signed, signature = fields.get("Credential"), fields.get("SignedHeaders"), fields.get("Signature")
    if not credential or not signed or not signature:
        raise refused(INCOMPLETE_SIGNATURE)
    names = signed.split(";")
    if names != sorted(set(names)) or not set(names) >= V3_REQUIRED_HEADERS:
        raise refused(INCOMPLETE_SIGNATURE)
    return credential, names, signature


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{encode(name)}={encode(params[name])}" for name in sorted(params))


def canonical_headers(request: Request, names: list[str]) -> str:
    lines = []
    for name in names:
        values = request.headers.getlist(name)
        if not values:
            raise refused(INCOMPLETE_SIGNATURE)
        lines.append(f"{name}:{','.join(sorted(value.strip() for value in values))}\n")
    return "".join(lines)


def verify_v3(request: Request, authorization: str, access_keys, now: datetime, window: timedelta) -> Caller:
    access_key_id, names, signature = authorization_fields(authorization)
    secret = secret_of(access_keys, access_key_id)
    timestamp = parse_timestamp(request.headers.get("x-acs-date", ""), now, window)
    payload = hashlib.sha256(request.get_data()).hexdigest()
    if request.headers.get("x-acs-content-sha256", "") != payload:
        raise refused(SIGNATURE_MISMATCH)
    params = single_values(request)
    canonical_request = "\n".join(
        [request.method, quote(request.path, safe="/~"), canonical_query(dict(request.args.items())),
         canonical_headers(request, names), ";".join(names), payload]
    )  # fmt: skip
    string_to_sign = f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    check(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest(), signature)
    return Caller(
        access_key_id, request.headers["x-acs-action"], request.headers["x-acs-version"], params,
        request.headers["x-acs-signature-nonce"], timestamp,
    )  # fmt: skip


# ---- V2: RPC, HMAC-SHA1 ----

_V2_SIGNING = {"Signature"}
_V2_PROTOCOL = {"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp",
                "Action", "Version", "Format", "SignatureType", "RegionId"}  # fmt: skip


def verify_v2(request: Request, access_keys, now: datetime, window: timedelta) -> Caller:
    params = single_values(request)
    if any(not params.get(name) for name in V2_REQUIRED):
        raise refused(INCOMPLETE_SIGNATURE)
    if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
        raise ApiError("InvalidSignatureMethod", 400, "Specified signature method is not supported.")
    secret = secret_of(access_keys, params["AccessKeyId"])
    timestamp = parse_timestamp(params["Timestamp"], now, window)
    signed = {name: value for name, value in params.items() if name not in _V2_SIGNING}
    string_to_sign = f"{request.method}&%2F&{quote_plus(canonical_query(signed), safe='~')}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    check(base64.b64encode(digest).decode(), params["Signature"])
    business = {name: value for name, value in params.items() if name not in _V2_PROTOCOL}
    return Caller(
        params["AccessKeyId"],
        params["Action"],
        params.get("Version", ""),
        business,
        params["SignatureNonce"],
        timestamp,
    )
