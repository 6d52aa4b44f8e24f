"""How the marketplace calls an ISV's SPI: signed GET requests to the registered URL, JSON answers."""

from __future__ import annotations

import httpx

from protocol import spi


class SpiCallFailed(Exception):
    """The call did not succeed; `transient` when trying again later may help (unreachable, 5xx)."""

    def __init__(self, reason: str, transient: bool) -> None:
        super().__init__(reason)
        self.reason, self.transient = reason, transient


class SpiClient:
    def __init__(self, url: str, isv_key: str, timeout: float, transport: httpx.BaseTransport | None = None):
        self.url, self.isv_key = url, isv_key
        self.http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def call(self, action: str, **params: str) -> dict:
        query = spi.signed({"action": action, **params}, self.isv_key)
        try:
            response = self.http.get(self.url, params=query)
        except httpx.HTTPError as error:
            raise SpiCallFailed(f"SPI unreachable: {type(error).__name__}", transient=True) from None
        transient = response.status_code >= 500
        try:
            body = response.json()
        except ValueError:
            raise SpiCallFailed(f"SPI answered HTTP {response.status_code} without JSON", transient) from None
        if not isinstance(body, dict):
            raise SpiCallFailed(f"SPI answered HTTP {response.status_code} with JSON that is not an object", transient)
        if response.status_code != 200 or body.get("success") is False:
            code = str(body.get("code", response.status_code))[:64]
            raise SpiCallFailed(f"SPI refused {action}: {code}", transient)
        return body

    def close(self) -> None:
        self.http.close()
