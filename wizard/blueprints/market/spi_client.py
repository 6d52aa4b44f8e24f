"""How the marketplace calls an ISV's SPI: signed GET requests, JSON answers."""

from __future__ import annotations

import httpx

from ... import spi_token


class SpiCallFailed(Exception):
    """The ISV could not be reached or refused the call; the message says which, for the order's record."""


class SpiClient:
    def __init__(self, url: str, isv_key: str, timeout: float, transport: httpx.BaseTransport | None = None):
        self.url, self.isv_key = url, isv_key
        self.http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def call(self, action: str, **params: str) -> dict:
        query = spi_token.signed({"action": action, **params}, self.isv_key)
        try:
            response = self.http.get(self.url, params=query)
        except httpx.HTTPError as error:
            raise SpiCallFailed(f"SPI unreachable: {type(error).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise SpiCallFailed(f"SPI answered HTTP {response.status_code} without JSON") from None
        if response.status_code != 200 or body.get("success") is False:
            raise SpiCallFailed(f"SPI refused {action}: {body.get('code', response.status_code)}")
        return body

    def close(self) -> None:
        self.http.close()
