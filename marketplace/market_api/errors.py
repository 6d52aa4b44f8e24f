"""Errors of the market API in Alibaba Cloud's shape: JSON with RequestId, HostId, Code, Message, Recommend."""

from __future__ import annotations

import uuid

HOST_ID = "market.aliyuncs.com"


class ApiError(Exception):
    """A refused call: Alibaba's error code, its HTTP status and message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self, request_id: str) -> dict:
        return {
            "RequestId": request_id,
            "HostId": HOST_ID,
            "Code": self.code,
            "Message": self.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={self.code}&product=Market&requestId={request_id}",
        }


def new_request_id() -> str:
    """Alibaba's request IDs are upper-case UUIDs."""
    return str(uuid.uuid4()).upper()


def missing(name: str) -> ApiError:
    return ApiError(
        "MissingParameter",
        400,
        f"The input parameter {name} that is mandatory for processing this request is not supplied.",
    )


def invalid(name: str, why: str) -> ApiError:
    return ApiError("InvalidParameter", 400, f"The specified parameter {name} is not valid: {why}.")


# The signature errors, with the codes, statuses and messages of Alibaba Cloud's API gateway.
SIGNATURE_MISMATCH = ("SignatureDoesNotMatch", 400, "Specified signature is not matched with our calculation.")
ACCESS_KEY_NOT_FOUND = ("InvalidAccessKeyId.NotFound", 404, "Specified access key is not found.")
NONCE_USED = ("SignatureNonceUsed", 400, "Specified signature nonce was used already.")
TIMESTAMP_EXPIRED = ("InvalidTimeStamp.Expired", 400, "Specified time stamp or date value is expired.")
TIMESTAMP_FORMAT = ("InvalidTimeStamp.Format", 400, "Specified time stamp or date value is not well formatted.")
INCOMPLETE_SIGNATURE = ("IncompleteSignature", 400, "The request signature does not conform to Aliyun standards.")
UNKNOWN_ACTION = ("InvalidAction.NotFound", 404, "Specified api is not found, please check your url and method.")
UNSUPPORTED_VERSION = ("InvalidVersion", 400, "Specified parameter Version is not valid.")


def refused(error: tuple[str, int, str]) -> ApiError:
    return ApiError(*error)
