"""What people see of metering: the console's usage section (U1) and the simulator's 费用账单 (M5),
and the demo data that fills both as soon as `make run` starts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from devtools.customer import Browser
from marketplace.extensions import db as market_db
from marketplace.models import MeteringRecord
from wizard import clock
from wizard.extensions import db, one_transaction
from wizard.models import MeteringHour
from wizard.services.market_api import MarketApi, MarketApiSettings
from wizard.services.metering import MeteringSettings, push_due, reconcile
from wizard.services.usage import simulate

from .metering import OWNER_PASSWORD, START, add_market_order, add_metered_workspace

BUYER, INSTANCE = "1380000000000055", "51380000000000055000001"
OWNER = "owner0055000001"


def push(app):
    with app.app_context(), one_transaction():  # as the periodic job or command runs it
        api = MarketApi(MarketApiSettings.from_config(app.config))
        return push_due(clock.now(), MeteringSettings.from_config(app.config), api)


def log_in(client, username: str = OWNER, password: str = OWNER_PASSWORD) -> Browser:
    """A browser on `client`, logged in to the console."""
    browser = Browser.of(client)
    browser.submit("/login/pwd", {"site": "cn1", "username": username, "password": password}).expect(302)
    return browser


def metered_console(guance, simulator, live_market, metering_clock):
    """09:00-10:00 pushed, 07:00 and 08:00 failed (past the deadline), 10:00-11:00 open: pending."""
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        workspace_id = add_metered_workspace(BUYER, INSTANCE, START - timedelta(days=1))
        simulate(3, seed=5, now=metering_clock.now(), workspace_ids=[workspace_id])
        simulate(1, seed=5, now=metering_clock.now() + timedelta(hours=1), workspace_ids=[workspace_id])
    add_market_order(simulator, BUYER, INSTANCE, START - timedelta(days=1))
    push(guance)
    return workspace_id


def test_the_console_shows_this_months_usage_and_each_hours_push_status(guance, simulator, live_market, metering_clock):
    workspace_id = metered_console(guance, simulator, live_market, metering_clock)
    client = guance.test_client()
    browser = log_in(client)
    page = browser.get("/console/")
    usage = page.text_of("section.usage")
    assert "本月用量（2026-11-01 起）" in usage and "数据点（个）" in usage and "API 调用（次）" in usage
    assert "已推送 1 · 待推送 1 · 推送失败 2" in usage
    statuses = [row["data-status"] for row in page.find_all("section.usage tr[data-status]")]
    assert sorted(statuses) == ["failed", "failed", "pending", "pushed"]
    assert all("超过推送期限" in text for text in page.texts_of("section.usage tr[data-status=failed]"))
    assert page.find("section.usage .table-wrap[role=region][tabindex='0']")  # the table scrolls, by keyboard too

    client.set_cookie("lang", "en")
    english = browser.get("/console/").text_of("section.usage")
    assert "Usage this month" in english and "Pushed 1 · Pending 1 · Failed 2" in english
    assert "Past the push deadline" in english

    full = browser.get(f"/console/workspaces/{workspace_id}/usage")
    assert full.status == 200 and len(full.find_all("tr[data-status]")) == 4


def test_only_members_see_a_workspaces_usage(guance, simulator, live_market, metering_clock):
    workspace_id = metered_console(guance, simulator, live_market, metering_clock)
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        other = add_metered_workspace("1380000000000056", "51380000000000056000001", START, name="Other")
    client = guance.test_client()
    log_in(client)
    assert client.get(f"/console/workspaces/{other}/usage").status_code == 404
    assert client.get("/console/workspaces/99999999999/usage").status_code == 404
    assert client.get(f"/console/workspaces/{workspace_id}/usage").status_code == 200
    assert guance.test_client().get(f"/console/workspaces/{workspace_id}/usage").status_code == 302  # log in first


def test_the_bill_lists_each_hour_and_entity_with_the_months_total(guance, simulator, live_market, metering_clock):
    metered_console(guance, simulator, live_market, metering_clock)
    client = simulator.test_client()
    buyer = Browser.of(client)
    buyer.get(f"/?aliUid={BUYER}")
    bill_url = f"/instances/2{INSTANCE}/bill"
    assert buyer.get("/instances").text_of(f"a[href='{bill_url}']") == "费用账单"
    page = buyer.get(bill_url)
    with simulator.app_context():
        lines = list(market_db.session.scalars(select(MeteringRecord)))
    total = sum(line.amount_fen for line in lines)
    assert len(lines) == 2 and page.text_of("#bill-total") == f"¥{total / 100:.2f}"
    assert "2026 年 11 月" in page.text
    hour = "2026-11-26 09:00 – 10:00"
    assert [row[:2] for row in page.rows("table.bill-lines")] == [[hour, "API 调用（次）"], [hour, "数据点（个）"]]
    assert "0.000002" in page.text_of("table.bill-lines")
    assert not page.find_all("[rel=next]")  # no month after this one yet

    october = buyer.get(f"{bill_url}?month=2026-10")
    assert "本月暂无账单" in october.text and october.text_of("#bill-total") == "¥0.00"

    client.set_cookie("aliyun_market_lang", "en")
    english = buyer.get(bill_url).text
    assert "Bill" in english and "Data points" in english and "Total this month" in english

    stranger = simulator.test_client()
    stranger.get("/?aliUid=1380000000000057")
    assert stranger.get(bill_url).status_code == 404


def test_the_bill_pages_its_lines(simulator, metering_clock):
    from datetime import UTC, datetime

    from marketplace.billing import LINES_PER_PAGE
    from marketplace.models import MarketOrder

    add_market_order(simulator, BUYER, INSTANCE, START - timedelta(days=5))
    with simulator.app_context():
        order = market_db.session.scalar(select(MarketOrder).filter_by(instance_id=INSTANCE))
        for n in range(LINES_PER_PAGE + 2):
            start = int(START.timestamp()) // 3600 * 3600 - (n + 1) * 3600
            market_db.session.add(MeteringRecord(
                order_id=order.id, instance_id=INSTANCE, hour_start=datetime.fromtimestamp(start, UTC),
                start_time=start, end_time=start + 3600, entity_key="ApiCalls", quantity=50,
                unit_price="0.0001", amount_fen=0,
                request_id="T", received_at=START,
            ))  # fmt: skip
        market_db.session.commit()
    buyer = Browser.of(simulator.test_client())
    buyer.get(f"/?aliUid={BUYER}")
    first = buyer.get(f"/instances/2{INSTANCE}/bill")
    assert first.text_of(".pagination span") == "第 1 / 2 页" and len(first.rows("table.bill-lines")) == LINES_PER_PAGE
    second = buyer.get(f"/instances/2{INSTANCE}/bill?page=2")
    assert second.text_of(".pagination span") == "第 2 / 2 页" and len(second.rows("table.bill-lines")) == 2
    assert {row[4] for row in second.rows("table.bill-lines")} == {"¥0.00"}  # ¥0.005 an hour rounds to 0


def test_the_demo_seeds_agree_and_bills_show_right_after_make_run(guance, simulator, live_market, metering_clock):
    assert simulator.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    assert guance.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    metering_clock.advance(minutes=5)  # the first push round of `make run`, a little later
    report = push(guance)
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        statuses = {h.status for h in db.session.scalars(select(MeteringHour))}
        api = MarketApi(MarketApiSettings.from_config(guance.config))
        assert reconcile(clock.now() - timedelta(days=35), clock.now(), api) == []
    assert statuses == {"pushed"} and report.pushed > 70 and report.failed == 0

    buyer = Browser.of(simulator.test_client())
    buyer.get("/?aliUid=1380000000000004")
    bill = buyer.get("/instances/21380000000000004000001/bill")
    assert "2026 年 11 月" in bill.text and "账单明细" in bill.headings and bill.rows("table.bill-lines")

    page = log_in(guance.test_client(), "demo_owner", "Guance-Demo-2026").get("/console/")
    assert "计量演示" in page.text and "推送失败 0" in page.text_of("section.usage")

    # Seeding again changes nothing on either side.
    assert simulator.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    assert guance.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        assert reconcile(clock.now() - timedelta(days=35), clock.now(), api) == []
