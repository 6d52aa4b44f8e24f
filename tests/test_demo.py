"""Demo data for every branch, created idempotently, credentials printed."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from wizard.models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    UsageRecord,
    Workspace,
)


def counts(db) -> dict:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (GuanceAccount, BillingAccount, Workspace, CloudAccountBinding, MarketplaceInstance, UsageRecord)
    }


def test_seed_covers_every_branch_and_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    after_first = counts(db)
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert counts(db) == after_first

    billing = {b.username: len(b.workspaces) for b in db.session.scalars(select(BillingAccount))}
    assert billing == {"demo_billing": 3, "demo_billing_empty": 0}  # two to bind, one settled by buyer D
    metered = db.session.scalar(select(MarketplaceInstance))
    assert (metered.ali_uid, metered.instance_id, metered.workspace.name) == (
        "1380000000000004",
        "51380000000000004000001",
        "计量演示",
    )
    loners = [a for a in db.session.scalars(select(GuanceAccount)) if not a.memberships]
    assert loners


@pytest.mark.parametrize(
    "moment, hours",
    [
        (datetime(2026, 12, 1, 12, 30, tzinfo=UTC), 91),  # 20:30 in Shanghai: from Nov 27 16:00 UTC to 11:00
        (datetime(2026, 12, 1, 16, 5, tzinfo=UTC), 71),  # 00:05 in Shanghai, a new day: from Nov 28 16:00 UTC
    ],
)
def test_buyer_d_has_usage_from_three_days_before_midnight_to_the_hour_before_last(
    app, db, frozen_clock, moment, hours
):
    """Both parties' seeds agree on the history (midnight in Shanghai, three days back); the last closed
    hour is left for `flask usage simulate` to add."""
    frozen_clock.moment = moment
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    assert counts(db)["usage_record"] == 2 * hours  # data points and API calls, each hour


def test_seed_prints_the_credentials(app):
    output = app.test_cli_runner().invoke(args=["demo", "seed"]).output
    assert "demo_billing" in output and "Guance-Demo-2026" in output


def test_the_simulator_seeds_its_demo_buyers_once_and_prints_them(market):
    from marketplace.extensions import db as market_db
    from marketplace.models import Buyer

    runner = market.test_cli_runner()
    output = runner.invoke(args=["demo", "seed"]).output
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert "1380000000000001" in output and "1380000000000004" in output
    with market.app_context():
        assert market_db.session.scalar(select(func.count()).select_from(Buyer)) == 4
