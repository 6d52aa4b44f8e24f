"""Acting as Alibaba Cloud towards the Guance side: signed SPI calls and 免登 links.

One implementation of what the marketplace sends (the token rule and time format come from
`protocol/`), for the tests (tests/marketplace.py adapts it to the test client), the hardening
suite, the benchmark (bench/scenarios.py signs wrk's links with it) and the customer driver.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count
from urllib.parse import urlencode

from protocol import spi
from wizard import clock

PRODUCT_CODE = "cmgj00053362"
SKU_ID = "yuncode5336200001"
_orders = count(1)
# Two links for one instance stamped with the same second carry the same token (a replay): each
# link gets a second no earlier link for that instance had, well inside the ±300 s window.
_stamped: set[tuple[str, str]] = set()


def now() -> datetime:
    """The Guance side's clock as tests set it (wizard.clock.now looked up at each call)."""
    return clock.now()


def spi_time(moment: datetime) -> str:
    return spi.format_time(moment)


def signed_query(isv_key: str, **params: str) -> str:
    return urlencode(spi.signed(params, isv_key))


def order_params(ali_uid: str = "1380000000000001", order_biz_id: str | None = None, **extra: str) -> dict:
    """createInstance as the marketplace calls it when a customer clicks 开通: a year's term."""
    number = next(_orders)
    return {
        "action": "createInstance",
        "aliUid": ali_uid,
        "orderBizId": order_biz_id or f"biz{number:06d}",
        "orderId": f"order{number:06d}",
        "productCode": PRODUCT_CODE,
        "skuId": SKU_ID,
        "trial": "false",
        "expiredOn": spi_time(now() + timedelta(days=365)),
        **extra,
    }


class Alibaba:
    """The marketplace's side of the SPI, holding the ISV key; `call` needs a browser to send with
    (server to server: its own cookie-less client, never the customer's)."""

    def __init__(self, isv_key: str, browser=None, moment: Callable[[], datetime] = now) -> None:
        self.isv_key, self.browser, self.now = isv_key, browser, moment

    def spi_url(self, **params: str) -> str:
        return "/spi?" + signed_query(self.isv_key, **params)

    def call(self, **params: str):
        """One signed SPI call; returns the Page (JSON)."""
        return self.browser.get(self.spi_url(**params))

    def create_instance_url(self, ali_uid: str, order_biz_id: str | None = None, **extra: str) -> str:
        return self.spi_url(**order_params(ali_uid, order_biz_id, **extra))

    def create_instance(self, ali_uid: str, order_biz_id: str | None = None, **extra: str) -> str:
        """开通: createInstance answered with an instance ID (FlowError otherwise)."""
        answer = self.browser.get(self.create_instance_url(ali_uid, order_biz_id, **extra)).expect(200)
        return answer.json["instanceId"]

    def login_free_url(self, instance_id: str, moment: datetime | None = None, **extra: str) -> str:
        """The 免登 link: action=verify, a fresh timeStamp (or `moment`'s), its token."""
        stamp = spi_time(moment) if moment else self.unused_stamp(instance_id)
        return self.spi_url(action="verify", instanceId=instance_id, timeStamp=stamp, **extra)

    def unused_stamp(self, instance_id: str) -> str:
        """The latest second of the last four minutes that no earlier link for `instance_id` carried."""
        now = self.now()
        for seconds_ago in range(240):
            stamp = spi_time(now - timedelta(seconds=seconds_ago))
            if (instance_id, stamp) not in _stamped:
                _stamped.add((instance_id, stamp))
                return stamp
        raise AssertionError(f"more than 240 login-free links for {instance_id} in four minutes")
