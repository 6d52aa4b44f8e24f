"""Orders remember their last 续费: a renewed term expires by its date, so the simulator offers 到期 (an
early expiry) only before any renewal, as Alibaba Cloud sends expiredInstance.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("market_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("market_order", schema=None) as batch_op:
        batch_op.drop_column("renewed_at")
