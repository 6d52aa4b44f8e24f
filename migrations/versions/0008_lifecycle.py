"""After activation: the workspace's lock countdown, lock, unlock and 解散; replay-safe lifecycle calls.

workspace gets its status (active, locking, locked, dissolved; every existing workspace is active)
with the countdown's dates, the reminders sent, and when and why it fell back to 费用中心
settlement. marketplace_instance records its expiry and last renewal, the language of its
customer's pages (for the lifecycle emails) and the workspace it let go of. spi_applied_order holds
each renewInstance/upgradeInstance orderId once applied; used_link the 立即解锁 links opened.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spi_applied_order',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_spi_applied_order'))
    )
    op.create_table('used_link',
    sa.Column('token_id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_used_link'))
    )
    with op.batch_alter_table('used_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_link_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('marketplace_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('released_workspace_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('workspace_released_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_marketplace_instance_released_workspace_id_workspace'), 'workspace', ['released_workspace_id'], ['id'])

    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('countdown_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lock_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unlocked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dissolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('settlement_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('settlement_cause', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_workspace_lock_due_at'), ['lock_due_at'], unique=False)
        batch_op.create_check_constraint(
            op.f('ck_workspace_status'), "status IN ('active', 'locking', 'locked', 'dissolved')"
        )



def downgrade():
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_workspace_status'), type_='check')
        batch_op.drop_index(batch_op.f('ix_workspace_lock_due_at'))
        batch_op.drop_column('settlement_cause')
        batch_op.drop_column('settlement_changed_at')
        batch_op.drop_column('dissolved_at')
        batch_op.drop_column('unlocked_at')
        batch_op.drop_column('locked_at')
        batch_op.drop_column('reminded_days')
        batch_op.drop_column('lock_due_at')
        batch_op.drop_column('countdown_started_at')
        batch_op.drop_column('status')

    with op.batch_alter_table('marketplace_instance', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_marketplace_instance_released_workspace_id_workspace'), type_='foreignkey')
        batch_op.drop_column('workspace_released_at')
        batch_op.drop_column('released_workspace_id')
        batch_op.drop_column('language')
        batch_op.drop_column('renewed_at')
        batch_op.drop_column('expired_at')

    with op.batch_alter_table('used_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_link_expires_at'))

    op.drop_table('used_link')
    op.drop_table('spi_applied_order')
