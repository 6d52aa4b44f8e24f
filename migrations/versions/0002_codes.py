"""Verification codes: delivered_at, and one send in flight per key.

A code row is now written before its mail goes out (delivered_at NULL) and counts once the SMTP
server took the mail; a partial unique index lets only one such send be in flight per key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

IN_FLIGHT = sa.text('delivered_at IS NULL AND voided_at IS NULL')


def upgrade():
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    # Codes written before this revision were sent as soon as they were stored.
    op.execute('UPDATE verification_code SET delivered_at = sent_at')
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.create_index('uq_verification_code_in_flight', ['email'], unique=True,
                              sqlite_where=IN_FLIGHT, postgresql_where=IN_FLIGHT)


def downgrade():
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.drop_index('uq_verification_code_in_flight', sqlite_where=IN_FLIGHT, postgresql_where=IN_FLIGHT)
        batch_op.drop_column('delivered_at')
