"""Task queue: codes mailed by the worker, email notices, failed tasks.

verification_code: the request now only writes the code and queues it; the worker mails it.
`delivery` says where it is (queued, sent, failed), `language` is the page's (the worker writes
the email in it), and the code is derived from `seed` and SECRET_KEY instead of being stored as a
hash, so no plaintext code ever sits in the queue. "One send in flight per key" now means one
queued code: a code whose delivery failed no longer blocks the next one.

Codes written before this revision were hashed and cannot be derived again: they are voided
(their rows stay, so the cooldown and the hourly cap still count them) and the customer asks for
a new one.

email_notice: every other email, written in the transaction that decides it (outbox).
failed_task: tasks that raised, with their error, until retried.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OLD_IN_FLIGHT = sa.text('delivered_at IS NULL AND voided_at IS NULL')
IN_FLIGHT = sa.text("delivery = 'queued' AND voided_at IS NULL")
DELIVERY = "delivery IN ('queued', 'sent', 'failed')"


def upgrade():
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.drop_index('uq_verification_code_in_flight', sqlite_where=OLD_IN_FLIGHT,
                            postgresql_where=OLD_IN_FLIGHT)
        batch_op.alter_column('code_hash', new_column_name='seed', existing_type=sa.String(length=64),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('delivery', sa.String(length=16), nullable=True))
    op.execute("UPDATE verification_code SET language = 'zh', "
               "delivery = CASE WHEN delivered_at IS NULL THEN 'failed' ELSE 'sent' END")
    op.execute('UPDATE verification_code SET voided_at = sent_at WHERE voided_at IS NULL AND consumed_at IS NULL')
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=8), nullable=False)
        batch_op.alter_column('delivery', existing_type=sa.String(length=16), nullable=False)
        batch_op.create_check_constraint('delivery', DELIVERY)
        batch_op.create_index('uq_verification_code_in_flight', ['email'], unique=True,
                              sqlite_where=IN_FLIGHT, postgresql_where=IN_FLIGHT)

    op.create_table('email_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('template_values', sa.JSON(), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(DELIVERY, name=op.f('ck_email_notice_delivery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_notice'))
    )
    op.create_table('failed_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('retrying', 'failed')", name=op.f('ck_failed_task_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failed_task')),
    sa.UniqueConstraint('task_id', name=op.f('uq_failed_task_task_id'))
    )
    with op.batch_alter_table('failed_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_task_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('failed_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_task_status'))
    op.drop_table('failed_task')
    op.drop_table('email_notice')
    # The seeds cannot become hashes again: every open code is voided, as on the way up.
    op.execute('UPDATE verification_code SET voided_at = sent_at WHERE voided_at IS NULL AND consumed_at IS NULL')
    op.execute("UPDATE verification_code SET delivered_at = sent_at WHERE delivered_at IS NULL")
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.drop_index('uq_verification_code_in_flight', sqlite_where=IN_FLIGHT, postgresql_where=IN_FLIGHT)
        batch_op.drop_constraint('delivery', type_='check')
        batch_op.drop_column('delivery')
        batch_op.drop_column('language')
        batch_op.alter_column('seed', new_column_name='code_hash', existing_type=sa.String(length=64),
                              existing_nullable=False)
        batch_op.create_index('uq_verification_code_in_flight', ['email'], unique=True,
                              sqlite_where=OLD_IN_FLIGHT, postgresql_where=OLD_IN_FLIGHT)
