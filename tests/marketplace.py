"""Acting as Alibaba Cloud in tests: devtools/alibaba.py's signed SPI calls and 免登 links, keyed with
the application's ISV key and sent with the test client a test hands in (raw Flask responses)."""

from __future__ import annotations

from datetime import datetime

from devtools.alibaba import Alibaba, order_params, spi_time  # noqa: F401  (tests import them from here)
from devtools.customer import Browser


def alibaba(app, client=None) -> Alibaba:
    """Alibaba Cloud facing `app`, sending with `client` (the SPI reads no cookie) or a client of its own."""
    return Alibaba(app.config["ISV_KEY"], Browser.of(client or app.test_client()))


def signer(app) -> Alibaba:
    """Alibaba Cloud's keys alone: links and signed queries, nothing sent."""
    return Alibaba(app.config["ISV_KEY"])


def signed_query(app, **params) -> str:
    return signer(app).spi_url(**params).removeprefix("/spi?")


def call_spi(client, app, **params):
    """A signed SPI call as the marketplace makes it; returns the response."""
    return alibaba(app, client).call(**params).raw


def create_instance(client, app, ali_uid: str = "1380000000000001", **extra) -> str:
    return alibaba(app, client).create_instance(ali_uid, **extra)


def login_free_url(app, instance_id: str, moment: datetime | None = None, **extra) -> str:
    return signer(app).login_free_url(instance_id, moment, **extra)


def enter_login_free(client, app, ali_uid: str = "1380000000000001") -> str:
    """Buy an instance and arrive on the Guance side through 免登 in `client`; returns the instance ID."""
    instance_id = create_instance(client, app, ali_uid)
    response = client.get(login_free_url(app, instance_id))
    assert response.status_code == 302, response.get_data(as_text=True)
    return instance_id
