"""The market API of Alibaba Cloud Marketplace (2015-11-01) through Alibaba Cloud's official SDK.

Only configuration tells the simulator from the real marketplace: the endpoint, http or https, the
AccessKey pair. The SDK signs every call (V3, ACS3-HMAC-SHA256, by default; V2 with
MARKET_API_SIGNATURE=v2). Its own retries are off: services/metering.py decides when to try again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

# Answers that say nothing about the records: the call may work later (or after an operator fixes
# the configuration), so the hours wait, until their deadline.
_NOT_ABOUT_THE_RECORDS = ("Throttling", "ServiceUnavailable", "InternalError", "InvalidTimeStamp", "SignatureNonceUsed",
                          "SignatureDoesNotMatch", "InvalidAccessKeyId", "IncompleteSignature", "MissingAccessKeyId",
                          "InvalidAuthorization", "InvalidSignatureMethod", "Forbidden.RAM")  # fmt: skip
DESCRIBE_PAGE_SIZE = 500


@dataclass(frozen=True)
class MarketApiSettings:
    endpoint: str
    protocol: str
    access_key_id: str | None
    access_key_secret: str | None
    signature: str = "v3"
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> MarketApiSettings:
        return cls(
            config["MARKET_API_ENDPOINT"], config["MARKET_API_PROTOCOL"], config["MARKET_ACCESS_KEY_ID"],
            config["MARKET_ACCESS_KEY_SECRET"], config["MARKET_API_SIGNATURE"], config["MARKET_API_TIMEOUT"],
        )  # fmt: skip


class MarketApiError(Exception):
    """The call failed. `refused` when the marketplace refused these records (they will never be
    accepted as they are); otherwise the outcome is unknown or the failure passing (unreachable,
    timeout, 5xx, throttled, clock or credentials)."""

    def __init__(self, code: str, message: str, refused: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.refused = code, message, refused

    @property
    def reason(self) -> str:
        return str(self)[:255]


class NotConfigured(RuntimeError):
    """MARKET_ACCESS_KEY_ID / MARKET_ACCESS_KEY_SECRET are missing."""


class MarketApi:
    def __init__(self, settings: MarketApiSettings) -> None:
        if not settings.access_key_id or not settings.access_key_secret:
            raise NotConfigured("MARKET_ACCESS_KEY_ID and MARKET_ACCESS_KEY_SECRET must be set to push metering data.")
        # Imported here: the SDK (and aiohttp under it) takes a second to load, and only pushers need it.
        from alibabacloud_market20151101.client import Client
        from alibabacloud_tea_openapi import utils_models

        self.settings = settings
        self.client = Client(
            utils_models.Config(
                access_key_id=settings.access_key_id, access_key_secret=settings.access_key_secret,
                endpoint=settings.endpoint, protocol=settings.protocol,
                signature_algorithm="v2" if settings.signature == "v2" else None,
            )
        )  # fmt: skip

    def _runtime(self):
        from darabonba.runtime import RuntimeOptions

        milliseconds = int(self.settings.timeout * 1000)
        return RuntimeOptions(autoretry=False, read_timeout=milliseconds, connect_timeout=milliseconds)

    def push_metering_data(self, records: list[dict]) -> str:
        """PushMeteringData; the answer's RequestId, or MarketApiError."""
        return self.push_metering_json(json.dumps(records, separators=(",", ":")))

    def push_metering_json(self, metering: str) -> str:
        from alibabacloud_market20151101 import models

        request = models.PushMeteringDataRequest(metering=metering)
        response = self._call(lambda: self.client.push_metering_data_with_options(request, self._runtime()))
        if not response.body or response.body.success is not True:
            raise MarketApiError("UnexpectedAnswer", "PushMeteringData answered without Success")
        return response.body.request_id or ""

    def describe_push_metering_data(self, start: int, end: int, instance_id: str | None = None) -> list[dict]:
        """Every record the marketplace accepted whose hour starts in [start, end), all pages."""
        records: list[dict] = []
        page = 1
        while True:
            query = {"StartTime": str(start), "EndTime": str(end), "PageNumber": str(page),
                     "PageSize": str(DESCRIBE_PAGE_SIZE)}  # fmt: skip
            if instance_id:
                query["InstanceId"] = instance_id
            body = self._call(lambda q=query: self._describe_page(q))
            records += body.get("MeteringData") or []
            if page * DESCRIBE_PAGE_SIZE >= int(body.get("TotalCount") or 0):
                return records
            page += 1

    def _describe_page(self, query: dict) -> dict:
        """The market API's query, called through the SDK's generic call_api: signed like every other action."""
        from alibabacloud_tea_openapi import utils_models

        params = utils_models.Params(
            action="DescribePushMeteringData", version="2015-11-01", protocol="HTTPS", pathname="/", method="POST",
            auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
        )  # fmt: skip
        answer = self.client.call_api(params, utils_models.OpenApiRequest(query=query), self._runtime())
        return answer.get("body") or {}

    @staticmethod
    def _call(call):
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

        try:
            return call()
        except AlibabaCloudException as error:
            code = str(error.code or error.status_code or "Unknown")
            message = str(getattr(error, "data", None) and error.data.get("Message") or error.message or "")
            server = error.status_code is None or error.status_code >= 500
            refused = not server and not code.startswith(_NOT_ABOUT_THE_RECORDS)
            raise MarketApiError(code, message[:200], refused) from None
        except Exception as error:  # unreachable, timeout, a broken answer: the outcome is unknown
            cause = getattr(error, "inner_exception", None) or getattr(error, "ex", None) or error
            raise MarketApiError("Unreachable", f"{type(cause).__name__}: {str(cause)[:160]}") from None
