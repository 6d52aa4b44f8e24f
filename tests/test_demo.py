"""Demo data for every branch, created idempotently, credentials printed."""

from sqlalchemy import func, select

from wizard.blueprints.market.models import MarketUser
from wizard.models import BillingAccount, CloudAccountBinding, GuanceAccount, Workspace


def counts(db) -> dict:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (MarketUser, GuanceAccount, BillingAccount, Workspace, CloudAccountBinding)
    }


def test_seed_covers_every_branch_and_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    after_first = counts(db)
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert counts(db) == after_first

    assert after_first["market_user"] >= 2
    billing = {b.username: len(b.workspaces) for b in db.session.scalars(select(BillingAccount))}
    assert 2 in billing.values() and 0 in billing.values()
    loners = [a for a in db.session.scalars(select(GuanceAccount)) if not a.memberships]
    assert loners


def test_seed_prints_the_credentials(app):
    output = app.test_cli_runner().invoke(args=["demo", "seed"]).output
    assert "1380000000000001" in output
    assert "demo_billing" in output and "Guance-Demo-2026" in output
