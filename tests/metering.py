"""The market API served for real (HTTP on a loopback port), so the official SDK talks to the simulator
as it would to Alibaba Cloud, with the faults the metering tests need: the marketplace down, and an
answer lost after the marketplace acted on the request."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from werkzeug.serving import make_server

from devtools.factories import (
    PASSWORD,
    GuanceAccountFactory,
    MarketplaceInstanceFactory,
    billing_account_with_workspaces,
)
from devtools.ports import free_port
from marketplace.extensions import db as market_db
from marketplace.models import Buyer, MarketOrder

PRODUCT = "cmgj00053362"
START = datetime(2026, 11, 26, 2, 10, tzinfo=UTC)  # 10:10 in Shanghai
ACCESS_KEY_ID, ACCESS_KEY_SECRET = "LTAI5tTestIsv", "test-market-secret"
OWNER_PASSWORD = PASSWORD  # the arranged accounts' (devtools/factories.py)
SDK_TIMEOUT = 5.0  # seconds the Guance side waits for an answer in these tests
LOST_ANSWER_TIMEOUT = 1.0  # ... and for the answer the test loses


class Faults:
    """WSGI middleware in front of the simulator: `lose_answers` n answers (the request is fully
    handled and committed, then the answer comes too late: the client has timed out)."""

    def __init__(self, app) -> None:
        self.app, self.lose_answers, self.recorded = app, 0, []

    def __call__(self, environ, start_response):
        self.recorded.append(Recorded.of(environ))
        if self.lose_answers and environ["REQUEST_METHOD"] == "POST":
            self.lose_answers -= 1
            body = b"".join(self.app(environ, lambda *args: None))  # handled and committed
            time.sleep(LOST_ANSWER_TIMEOUT * 2.5)  # the client gave up long ago
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return self.app(environ, start_response)


@dataclass(frozen=True)
class Recorded:
    """A request as it arrived, to send again (a replay) or changed (tampering)."""

    method: str
    path: str
    query_string: str
    headers: dict
    body: bytes

    @classmethod
    def of(cls, environ) -> Recorded:
        headers = {
            name[5:].replace("_", "-").title(): value for name, value in environ.items() if name.startswith("HTTP_")
        }
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return cls(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""), headers, body)

    def send(self, client, query_string: str | None = None):
        return client.open(self.path, method=self.method, query_string=query_string or self.query_string,
                           headers=self.headers, data=self.body)  # fmt: skip


class LiveMarket:
    """The simulator on 127.0.0.1:port; `down()` and `up()` stop and restart it on the same port."""

    def __init__(self, market) -> None:
        self.market, self.port, self.faults = market, free_port(), Faults(market)
        self.server = None
        self.up()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def up(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.faults, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MeteringClock:
    """Both parties' clocks (and the SDK's signature timestamps) at one moment that tests move."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)

    def sdk_timestamp(self) -> str:
        return self.moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_metered_workspace(ali_uid: str, instance_id: str, bound_at: datetime, name: str = "Metered") -> int:
    """On the Guance side: a workspace settled through `instance_id` since `bound_at`, owned by
    owner<last 10 digits> (password OWNER_PASSWORD); returns its id."""
    owner = GuanceAccountFactory.build(username=f"owner{instance_id[-10:]}", email=f"{instance_id}@example.com")
    billing = billing_account_with_workspaces(
        f"billing{instance_id[-10:]}", f"b{instance_id}@example.com", (name,), owner=owner, commit=False
    )
    workspace = billing.workspaces[0]
    MarketplaceInstanceFactory(
        instance_id=instance_id, ali_uid=ali_uid, order_id=f"order-{instance_id}", product_code=PRODUCT,
        expires_at=bound_at + timedelta(days=365), workspace=workspace, bound_at=bound_at,
    )  # fmt: skip
    return workspace.id


def add_market_order(market, ali_uid: str, instance_id: str, opened_at: datetime, product: str = PRODUCT) -> None:
    """On the simulator: the buyer's opened order of that instance."""
    with market.app_context():
        if (
            market_db.session.get(Buyer, 1) is None
            or not market_db.session.query(Buyer).filter_by(ali_uid=ali_uid).count()
        ):
            market_db.session.add(Buyer(ali_uid=ali_uid, display_name=""))
        market_db.session.add(
            MarketOrder(
                order_id=f"2{instance_id}", order_biz_id=instance_id, ali_uid=ali_uid, product_code=product,
                sku_id="yuncode5336200001", status="active", instance_id=instance_id, auth_url="http://localhost/spi",
                expires_at=opened_at + timedelta(days=365), provision_attempts=1, created_at=opened_at,
            )
        )  # fmt: skip
        market_db.session.commit()
