"""Operators' console speed: the funnel's daily roll-up, and indexes matching the console's keyset orders.

funnel_day and funnel_day_duration hold, per day the activation began (a date in the console's time
zone, BABEL_DEFAULT_TIMEZONE), the instances that reached each step and a histogram of the seconds
spent on each step before the next; they are filled here from the existing funnel_event rows, then
kept by the code that writes those rows. spi_call gets an index on action and outcome together;
the failed metering hours and failed tasks get indexes in the order their pages list them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

"""

from collections import Counter
from datetime import UTC
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "funnel_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "step", name=op.f("pk_funnel_day")),
    )
    op.create_table(
        "funnel_day_duration",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("seconds", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("departures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "step", "seconds", name=op.f("pk_funnel_day_duration")),
    )
    _fill_rollup()
    with op.batch_alter_table("spi_call", schema=None) as batch_op:
        batch_op.create_index("ix_spi_call_action_outcome", ["action", "outcome", "created_at", "id"], unique=False)
    with op.batch_alter_table("metering_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_metering_hour_status")
        batch_op.create_index("ix_metering_hour_status", ["status", "hour_start", "id"], unique=False)
    with op.batch_alter_table("failed_task", schema=None) as batch_op:
        batch_op.drop_index("ix_failed_task_status")
        batch_op.create_index("ix_failed_task_status", ["status", "last_failed_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("failed_task", schema=None) as batch_op:
        batch_op.drop_index("ix_failed_task_status")
        batch_op.create_index("ix_failed_task_status", ["status"], unique=False)
    with op.batch_alter_table("metering_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_metering_hour_status")
        batch_op.create_index("ix_metering_hour_status", ["status", "hour_start"], unique=False)
    with op.batch_alter_table("spi_call", schema=None) as batch_op:
        batch_op.drop_index("ix_spi_call_action_outcome")
    op.drop_table("funnel_day_duration")
    op.drop_table("funnel_day")


def _fill_rollup():
    """The roll-up of the events recorded so far, counted in Python (the same on SQLite and PostgreSQL).
    A frozen copy of services/ops/funnel.py's rebuild, as migrations must not follow later code."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    event = sa.table(
        "funnel_event",
        sa.column("entered_at", sa.DateTime(timezone=True)),
        sa.column("step"),
        sa.column("previous_step"),
        sa.column("seconds_on_previous"),
    )
    reached, departures = Counter(), Counter()
    rows = op.get_bind().execute(
        sa.select(event.c.entered_at, event.c.step, event.c.previous_step, event.c.seconds_on_previous)
    )
    for entered_at, step, previous_step, seconds in rows:
        entered_at = entered_at if entered_at.tzinfo else entered_at.replace(tzinfo=UTC)  # SQLite: naive UTC
        day = entered_at.astimezone(zone).date()
        reached[day, step] += 1
        if previous_step is not None:
            departures[day, previous_step, seconds or 0] += 1
    if reached:
        op.bulk_insert(
            sa.table("funnel_day", sa.column("day", sa.Date()), sa.column("step"), sa.column("reached")),
            [{"day": d, "step": s, "reached": n} for (d, s), n in reached.items()],
        )
    if departures:
        op.bulk_insert(
            sa.table(
                "funnel_day_duration",
                sa.column("day", sa.Date()),
                sa.column("step"),
                sa.column("seconds"),
                sa.column("departures"),
            ),
            [{"day": d, "step": s, "seconds": t, "departures": n} for (d, s, t), n in departures.items()],
        )
