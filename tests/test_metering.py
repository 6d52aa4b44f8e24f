"""Pay-as-you-go metering, end to end: usage per workspace and hour, pushed with Alibaba Cloud's SDK to
the simulator's market API over HTTP, billed once, reconciled; and the faults that must not change that."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db as market_db
from marketplace.models import MeteringRecord
from wizard import clock, create_app
from wizard.extensions import db, one_transaction
from wizard.models import MeteringHour
from wizard.services.market_api import MarketApi, MarketApiSettings
from wizard.services.metering import DEADLINE_EXCEEDED, MeteringSettings, push_due, reconcile
from wizard.services.usage import simulate

from .conftest import BOTH_DATABASES, guance_settings
from .metering import LOST_ANSWER_TIMEOUT, SDK_TIMEOUT, START, add_market_order, add_metered_workspace

BUYER = "1380000000000042"
INSTANCE = "51380000000000042000001"
BOUND = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
TURN = timedelta(seconds=65)


@pytest.fixture
def metered(guance, simulator, metering_clock):
    """An Aliyun-settled workspace on the Guance side, its order on the marketplace, three hours of usage."""
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        workspace_id = add_metered_workspace(BUYER, INSTANCE, BOUND)
        simulate(3, seed=7, now=metering_clock.now(), workspace_ids=[workspace_id])
    add_market_order(simulator, BUYER, INSTANCE, BOUND)
    return workspace_id


def push_losing_the_answer(app, live_market):
    """A push round whose request the marketplace handles, and whose answer never arrives in time."""
    live_market.faults.lose_answers = 1
    app.config["MARKET_API_TIMEOUT"] = LOST_ANSWER_TIMEOUT
    try:
        return push(app)
    finally:
        app.config["MARKET_API_TIMEOUT"] = SDK_TIMEOUT


def push(app):
    with app.app_context(), one_transaction():  # as the periodic job or command runs it
        api = MarketApi(MarketApiSettings.from_config(app.config))
        return push_due(clock.now(), MeteringSettings.from_config(app.config), api)


def differences(app) -> list:
    with app.app_context(), one_transaction():  # as the periodic job or command runs it
        api = MarketApi(MarketApiSettings.from_config(app.config))
        return reconcile(clock.now() - timedelta(days=35), clock.now() + timedelta(hours=1), api)


def hours(app) -> dict[datetime, tuple[str, str | None]]:
    with app.app_context(), one_transaction():  # as the periodic job or command runs it
        return {h.hour_start: (h.status, h.last_error) for h in db.session.scalars(select(MeteringHour))}


def billed(simulator) -> list[tuple]:
    with simulator.app_context():
        return sorted(
            market_db.session.execute(
                select(
                    MeteringRecord.instance_id,
                    MeteringRecord.hour_start,
                    MeteringRecord.entity_key,
                    MeteringRecord.quantity,
                )
            )
        )


def total_fen(simulator) -> int:
    with simulator.app_context():
        return market_db.session.scalar(select(func.coalesce(func.sum(MeteringRecord.amount_fen), 0)))


def hour(n: int) -> datetime:
    """The n-th hour before START's hour (1: the last closed one)."""
    return START.replace(minute=0) - timedelta(hours=n)


# ---- The ordinary path ----


@BOTH_DATABASES
def test_closed_hours_are_pushed_billed_once_and_reconciled(guance, simulator, live_market, metered, metering_clock):
    # 10:10 in Shanghai: of the three hours of usage, 09:00-10:00 closed at 10:05 and may still be billed;
    # the two before it are past their deadline (the end of the next hour) and were never sent.
    report = push(guance)
    assert (report.requests, report.pushed, report.failed) == (1, 1, 2)
    assert hours(guance) == {
        hour(3): ("failed", DEADLINE_EXCEEDED),
        hour(2): ("failed", DEADLINE_EXCEEDED),
        hour(1): ("pushed", None),
    }
    assert [(h, key) for _i, h, key, _q in billed(simulator)] == [(hour(1), "ApiCalls"), (hour(1), "DataPoints")]
    total = total_fen(simulator)
    assert total > 0 and differences(guance) == []

    # The next hour: its usage arrives, the hour closes at 11:05, the pusher sends it.
    metering_clock.advance(hours=1)
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        simulate(1, seed=7, now=metering_clock.now(), workspace_ids=[metered])
    assert push(guance).pushed == 1 and hours(guance)[hour(0)] == ("pushed", None)
    assert len(billed(simulator)) == 4 and total_fen(simulator) > total and differences(guance) == []

    # Running the push again changes no total.
    total = total_fen(simulator)
    metering_clock.advance(seconds=TURN.seconds)
    assert push(guance).requests == 0
    assert len(billed(simulator)) == 4 and total_fen(simulator) == total


def test_nothing_is_pushed_for_hours_after_the_instance_was_released(
    guance, simulator, live_market, metered, metering_clock
):
    from wizard.models import MarketplaceInstance

    with (
        guance.app_context(),
        one_transaction(),
    ):  # as the periodic job or command runs it  # released at 09:30 in Shanghai, in the middle of 09:00-10:00
        instance = db.session.scalar(select(MarketplaceInstance))
        instance.status, instance.released_at = "released", START - timedelta(minutes=40)
        db.session.commit()
    report = push(guance)
    assert report.requests == 0 and hour(1) not in hours(guance)  # never closed, never sent
    assert billed(simulator) == [] and differences(guance) == []


def reset_to_pending(app) -> None:
    """As if the Guance database had lost track of the pushes (restored from a backup, say)."""
    with app.app_context(), one_transaction():  # as the periodic job or command runs it
        db.session.execute(
            db.update(MeteringHour).values(status="pending", sent_at=None, last_error=None, next_attempt_at=clock.now())
        )
        db.session.commit()


def test_one_request_per_instance_per_interval_and_a_duplicated_push_bills_nothing_twice(
    guance, simulator, live_market, metered, metering_clock
):
    assert push(guance).requests == 1
    billed_once, total = billed(simulator), total_fen(simulator)

    metering_clock.advance(seconds=30)
    reset_to_pending(guance)
    report = push(guance)
    assert (report.requests, report.busy) == (0, 1)  # the instance's turn lasts 65 s

    metering_clock.advance(seconds=TURN.seconds)
    reset_to_pending(guance)
    report = push(guance)  # the same three records again: two still in time, accepted and deduplicated
    assert report.requests == 1 and not report.errors
    assert hours(guance)[hour(1)] == ("pushed", None)
    assert billed(simulator) == billed_once and total_fen(simulator) == total
    assert differences(guance) == []


def test_usage_is_written_once_and_simulated_deterministically(guance, metered, metering_clock):
    from wizard.models import UsageRecord

    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        before = {(u.hour_start, u.entity): u.quantity for u in db.session.scalars(select(UsageRecord))}
        assert simulate(3, seed=7, now=metering_clock.now(), workspace_ids=[metered]).recorded == 0
        assert simulate(5, seed=7, now=metering_clock.now(), workspace_ids=[metered]).recorded == 4
        after = {(u.hour_start, u.entity): u.quantity for u in db.session.scalars(select(UsageRecord))}
    assert {key: after[key] for key in before} == before and len(before) == 6


# ---- Faults: after each, reconciliation finds nothing, nothing is billed twice, nothing lost in time ----


def assert_exactly_once(guance, simulator) -> None:
    assert differences(guance) == []
    keys = [(instance, h, key) for instance, h, key, _q in billed(simulator)]
    assert len(keys) == len(set(keys))


@BOTH_DATABASES
def test_the_marketplace_down_for_a_while(guance, simulator, live_market, metered, metering_clock):
    live_market.down()
    report = push(guance)
    assert report.waiting == 1 and "Unreachable" in report.errors[0]
    assert hours(guance)[hour(1)][0] == "pending" and billed(simulator) == []

    metering_clock.advance(minutes=20)
    assert push(guance).waiting == 1  # still down: waits again, with a longer backoff

    live_market.up()
    metering_clock.advance(minutes=5)
    assert push(guance).pushed == 1
    assert hours(guance)[hour(1)] == ("pushed", None) and len(billed(simulator)) == 2
    assert_exactly_once(guance, simulator)


@BOTH_DATABASES
def test_an_answer_lost_after_the_marketplace_billed(guance, simulator, live_market, metered, metering_clock):
    report = push_losing_the_answer(guance, live_market)
    assert report.waiting == 1 and "Unreachable" in report.errors[0]  # the read timed out
    assert len(billed(simulator)) == 2  # ... but the marketplace had billed the hour
    assert [d.kind for d in differences(guance)] == ["unexpected", "unexpected"]  # reconciliation sees it
    total = total_fen(simulator)

    metering_clock.advance(minutes=2)
    assert push(guance).pushed == 1  # the same records again, deduplicated
    assert hours(guance)[hour(1)] == ("pushed", None)
    assert len(billed(simulator)) == 2 and total_fen(simulator) == total
    assert_exactly_once(guance, simulator)


@BOTH_DATABASES
def test_two_pushers_at_once(guance, simulator, live_market, metering_clock):
    instances = [f"5138000000000004{n}000001" for n in range(4)]
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        for instance_id in instances:
            workspace_id = add_metered_workspace(BUYER, instance_id, BOUND, name=f"W{instance_id[-8:]}")
            simulate(1, seed=3, now=metering_clock.now(), workspace_ids=[workspace_id])
    for instance_id in instances:
        add_market_order(simulator, BUYER, instance_id, BOUND)

    start, reports = threading.Barrier(2), []

    def pusher():
        start.wait()
        reports.append(push(guance))

    threads = [threading.Thread(target=pusher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(reports) == 2
    # Each instance pushed by exactly one of them, in one request, none refused for flow control.
    assert sum(r.requests for r in reports) == len(instances) and not any(r.errors for r in reports)
    assert sum(r.pushed for r in reports) == len(instances)
    assert len(billed(simulator)) == 2 * len(instances)
    assert_exactly_once(guance, simulator)


@BOTH_DATABASES
def test_the_clock_crossing_the_deadline(guance, simulator, live_market, metered, metering_clock):
    # Down until 10:50: the hour 09:00-10:00 may still be billed until 11:00, and is.
    live_market.down()
    push(guance)
    metering_clock.advance(minutes=40)
    live_market.up()
    assert push(guance).pushed == 1 and hours(guance)[hour(1)] == ("pushed", None)

    # The next hour: down from 11:10 until past its deadline (12:00): 推送失败, listed, not billed.
    metering_clock.advance(minutes=20)
    with guance.app_context(), one_transaction():  # as the periodic job or command runs it
        simulate(1, seed=7, now=metering_clock.now(), workspace_ids=[metered])
    live_market.down()
    assert push(guance).waiting == 1
    metering_clock.advance(minutes=55)  # 12:05, past the deadline and its margin
    live_market.up()
    push(guance)
    assert hours(guance)[hour(0)] == ("failed", DEADLINE_EXCEEDED)
    listed = guance.test_cli_runner().invoke(args=["metering", "failed"])
    assert INSTANCE in listed.output and "DeadlineExceeded" in listed.output and "3 hours failed." in listed.output
    assert len(billed(simulator)) == 2
    assert_exactly_once(guance, simulator)


@BOTH_DATABASES
def test_an_answer_lost_then_the_deadline_passes_asks_the_marketplace(
    guance, simulator, live_market, metered, metering_clock
):
    push_losing_the_answer(guance, live_market)
    live_market.down()
    metering_clock.advance(minutes=30)
    assert push(guance).waiting == 1  # still in time, still unreachable
    metering_clock.advance(minutes=35)  # 11:15: past 09:00-10:00's deadline (11:00) and its margin
    live_market.up()
    push(guance)
    # Never guessed: the marketplace says it billed the hour (DescribePushMeteringData), so it is 已推送.
    assert hours(guance)[hour(1)] == ("pushed", None)
    assert len(billed(simulator)) == 2
    assert_exactly_once(guance, simulator)


# ---- The commands ----


def test_the_commands_push_and_reconcile(guance, simulator, live_market, metered, metering_clock):
    runner = guance.test_cli_runner()
    pushed = runner.invoke(args=["metering", "push"])
    assert pushed.exit_code == 0 and "pushed 1, failed 2" in pushed.output
    clean = runner.invoke(args=["metering", "reconcile"])
    assert clean.exit_code == 0 and "0 differences." in clean.output

    with simulator.app_context():  # the marketplace loses a record
        market_db.session.delete(market_db.session.scalars(select(MeteringRecord)).first())
        market_db.session.commit()
    found = runner.invoke(args=["metering", "reconcile"])
    assert found.exit_code == 1 and "missing" in found.output and "1 differences." in found.output


def test_reconcile_says_so_when_the_marketplace_cannot_be_asked(guance, live_market, metered):
    live_market.down()
    result = guance.test_cli_runner().invoke(args=["metering", "reconcile"])
    assert result.exit_code == 1 and "could not be asked" in result.output
    live_market.up()


def test_push_refuses_to_run_without_an_access_key(database, smtp_server, live_market):
    app = create_app(guance_settings(database, smtp_server, live_market.endpoint, MARKET_ACCESS_KEY_SECRET=None))
    result = app.test_cli_runner().invoke(args=["metering", "push"])
    assert result.exit_code == 1 and "MARKET_ACCESS_KEY_SECRET must be set" in result.output
