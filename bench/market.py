"""The benchmark plays Alibaba Cloud: signed SPI calls and login-free links, as the marketplace sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from protocol import spi as spi_token

SHANGHAI = ZoneInfo("Asia/Shanghai")


def spi_time(moment: datetime) -> str:
    return spi_token.format_time(moment)


def create_instance_path(isv_key: str, ali_uid: str, order_biz_id: str) -> str:
    """GET /spi?action=createInstance..., what the marketplace calls when the customer clicks 开通."""
    params = {
        "action": "createInstance",
        "aliUid": ali_uid,
        "orderBizId": order_biz_id,
        "orderId": f"o-{order_biz_id}",
        "productCode": "cmgj00053362",
        "skuId": "yuncode5336200001",
        "trial": "false",
        "expiredOn": spi_time(datetime.now(UTC) + timedelta(days=365)),
    }
    return "/spi?" + urlencode(spi_token.signed(params, isv_key))


def login_free_path(isv_key: str, instance_id: str) -> str:
    """The 免登 link: action=verify with a fresh timeStamp and its token (single use)."""
    params = {"action": "verify", "instanceId": instance_id, "timeStamp": spi_time(datetime.now(UTC))}
    return "/spi?" + urlencode(spi_token.signed(params, isv_key))
