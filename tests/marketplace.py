"""Test helpers that act as Alibaba Cloud: signed SPI calls and login-free links."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from protocol import spi as spi_token
from wizard import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
_orders = count(1)
# Two links for one instance stamped with the same second carry the same token (a replay): each
# link a test makes gets a second no earlier link for that instance had, well inside the window.
_stamped: set[tuple[str, str]] = set()


def spi_time(moment: datetime) -> str:
    return spi_token.format_time(moment)


def signed_query(app, **params) -> str:
    return urlencode(spi_token.signed(params, app.config["ISV_KEY"]))


def call_spi(client, app, **params):
    """A signed SPI call as the marketplace makes it; returns the response."""
    return client.get(f"/spi?{signed_query(app, **params)}")


def order_params(ali_uid: str = "1380000000000001", order_biz_id: str | None = None, **extra) -> dict:
    number = next(_orders)
    return {
        "action": "createInstance",
        "aliUid": ali_uid,
        "orderBizId": order_biz_id or f"biz{number:06d}",
        "orderId": f"order{number:06d}",
        "productCode": "cmgj00053362",
        "skuId": "yuncode5336200001",
        "trial": "false",
        "expiredOn": spi_time(clock.now() + timedelta(days=365)),
        **extra,
    }


def create_instance(client, app, ali_uid: str = "1380000000000001", **extra) -> str:
    response = call_spi(client, app, **order_params(ali_uid, **extra))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["instanceId"]


def login_free_url(app, instance_id: str, moment: datetime | None = None, **extra) -> str:
    stamp = spi_time(moment) if moment else _unused_stamp(instance_id)
    return "/spi?" + signed_query(app, action="verify", instanceId=instance_id, timeStamp=stamp, **extra)


def _unused_stamp(instance_id: str) -> str:
    now = clock.now()
    for seconds_ago in range(240):
        stamp = spi_time(now - timedelta(seconds=seconds_ago))
        if (instance_id, stamp) not in _stamped:
            _stamped.add((instance_id, stamp))
            return stamp
    raise AssertionError(f"more than 240 login-free links for {instance_id} in four minutes")


def enter_login_free(client, app, ali_uid: str = "1380000000000001") -> str:
    """Buy an instance and arrive on the Guance side through 免登; returns the instance ID."""
    instance_id = create_instance(client, app, ali_uid)
    response = client.get(login_free_url(app, instance_id))
    assert response.status_code == 302, response.get_data(as_text=True)
    return instance_id
