"""Migrations go up and down on both databases and match the models exactly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from wizard.extensions import db as _db

from .conftest import BOTH_DATABASES

TABLES = {
    "guance_account",
    "billing_account",
    "cloud_account_binding",
    "workspace",
    "workspace_member",
    "marketplace_instance",
    "sso_nonce",
    "spi_call",
    "verification_code",
    "email_notice",
    "failed_task",
    "usage_record",
    "metering_hour",
    "metering_lease",
    "spi_applied_order",
    "used_link",
    "web_session",
    "rate_limit_counter",
    "login_attempt",
}


def table_names() -> set[str]:
    return set(inspect(_db.engine).get_table_names()) - {"alembic_version"}


@BOTH_DATABASES
def test_downgrade_to_base_then_upgrade_again(app, db):
    assert table_names() >= TABLES
    assert not table_names() & {"market_user", "market_order"}  # the simulator keeps its own database
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()
    assert table_names() >= TABLES


@BOTH_DATABASES
def test_migrations_match_the_models(app, db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_the_simulators_own_migrations_match_its_models(market):
    from marketplace.extensions import db as market_db

    with market.app_context():
        assert set(inspect(market_db.engine).get_table_names()) - {"alembic_version"} == {
            "buyer",
            "market_order",
            "metering_record",
            "api_nonce",
            "metering_throttle",
        }
        downgrade(revision="base")
        upgrade()
        with market_db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, market_db.metadata) == []


@BOTH_DATABASES
def test_the_funnel_roll_up_starts_with_the_events_recorded_before_it(app, db):
    """0012 fills the funnel's daily roll-up from the existing events: the same rows as a rebuild."""
    from .test_funnel import generate_activations, roll_up_rows

    generate_activations(40, seed=12)
    db.session.commit()
    rebuilt = roll_up_rows(db)
    db.session.remove()
    downgrade(revision="0011")
    upgrade()
    assert rebuilt[0] and rebuilt[1]
    assert roll_up_rows(db) == rebuilt
