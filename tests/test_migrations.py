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
    "market_user",
    "market_order",
    "web_session",
    "rate_limit_counter",
    "login_attempt",
}


def table_names() -> set[str]:
    return set(inspect(_db.engine).get_table_names()) - {"alembic_version"}


@BOTH_DATABASES
def test_downgrade_to_base_then_upgrade_again(app, db):
    assert table_names() >= TABLES
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()
    assert table_names() >= TABLES


@BOTH_DATABASES
def test_migrations_match_the_models(app, db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
