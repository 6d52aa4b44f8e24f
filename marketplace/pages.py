"""The simulator's page map: the marketplace pages of SPEC.md (M1-M5), where they live, their screenshots.

The simulator is another party's application, so it keeps its own map, declared like the Guance
side's (wizard/pages.py): one row per page. M2 and M3 are dialogs over M1, with URLs of their own so
that they work without JavaScript. The guide's page-map page lists both maps (e2e/guide.py), and
tests/test_pages.py fails when the simulator serves a page outside this map.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class MarketPage:
    id: str
    title: object
    url: str
    endpoint: str
    screenshots: tuple[str, ...] = ()


MARKET_PAGES: tuple[MarketPage, ...] = (
    MarketPage("M1", _l("商品详情：观测云"), "/", "market.product", ("2-commercial-1107",)),
    MarketPage("M2", _l("开通按量服务"), "/activate", "market.activate", ("3-commercial-1107",)),
    MarketPage("M3", _l("开通申请已提交"), "/orders/<order_id>/submitted", "market.submitted", ("4-commercial-1107",)),
    MarketPage("M4", _l("已购买的服务"), "/instances", "market.instances", ("10.aliyun_market_1",)),
    MarketPage("M5", _l("费用账单"), "/instances/<order_id>/bill", "market.bill", ("metering-bill",)),
    MarketPage("signin", _l("选择阿里云账号"), "/signin", "market.signin"),
    MarketPage("agreement", _l("云市场平台服务协议"), "/agreements/marketplace", "market.agreement"),
)

BUYER = _l("云市场的买家")

# What answers GET but is not a page a person reads.
NOT_PAGES = {
    "static": "style sheets and images",
    "market.login_free": "免登: a redirect to the ISV's authUrl with a fresh token",
}


def table(language: str) -> str:
    """The map as Markdown rows (titles in `language`), in the columns of wizard.pages.table."""
    from . import create_app

    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    rows = []
    with app.test_request_context(), force_locale(language):
        for page in MARKET_PAGES:
            shots = ", ".join(f"`{name}.png`" for name in page.screenshots) or "—"
            rows.append(f"| {page.id} | {page.title} | `{page.url}` | {BUYER} | {shots} |")
    return "\n".join(rows) + "\n"
