"""The worker retries an order 开通中 with backoff: when its next createInstance attempt is due.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_market_order_next_attempt_at'), ['next_attempt_at'], unique=False)



def downgrade():
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_market_order_next_attempt_at'))
        batch_op.drop_column('next_attempt_at')

