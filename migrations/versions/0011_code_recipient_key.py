"""Verification codes: the column `email` is `recipient_key` (it holds an email or billing:<username>).

The key a code belongs to is the lower-cased email, or "billing:<username>" for a billing-center
account (services/codes.py), so calling it email misled. Its two indexes are dropped and made again
on the renamed column (SQLite's batch mode would not keep the partial index's condition).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

IN_FLIGHT = sa.text("delivery = 'queued' AND voided_at IS NULL")


def _rename(old: str, new: str) -> None:
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.drop_index('uq_verification_code_in_flight', sqlite_where=IN_FLIGHT, postgresql_where=IN_FLIGHT)
        batch_op.drop_index(f'ix_verification_code_{old}_purpose')
        batch_op.alter_column(old, new_column_name=new, existing_type=sa.String(length=254), existing_nullable=False)
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.create_index(f'ix_verification_code_{new}_purpose', [new, 'purpose', 'sent_at'], unique=False)
        batch_op.create_index('uq_verification_code_in_flight', [new], unique=True,
                              sqlite_where=IN_FLIGHT, postgresql_where=IN_FLIGHT)


def upgrade():
    _rename('email', 'recipient_key')


def downgrade():
    _rename('recipient_key', 'email')
