"""The marketplace simulator leaves the Guance database: it is another application with its own.

The simulator's tables (market_user, market_order) were created here while it was a blueprint of
the Guance application. Its orders now live in the simulator's own database (marketplace/
migrations); nothing of the Guance side ever read them, so they are dropped, not moved.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_market_order_ali_uid'))
    op.drop_table('market_order')
    op.drop_table('market_user')


def downgrade():
    op.create_table('market_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ali_uid', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_user')),
    sa.UniqueConstraint('ali_uid', name=op.f('uq_market_user_ali_uid'))
    )
    op.create_table('market_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('order_biz_id', sa.String(length=64), nullable=False),
    sa.Column('ali_uid', sa.String(length=32), nullable=False),
    sa.Column('product_code', sa.String(length=64), nullable=False),
    sa.Column('sku_id', sa.String(length=64), nullable=False),
    sa.Column('trial', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=True),
    sa.Column('auth_url', sa.String(length=512), nullable=True),
    sa.Column('front_end_url', sa.String(length=512), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'active', 'expired', 'released')", name=op.f('ck_market_order_status')),
    sa.ForeignKeyConstraint(['ali_uid'], ['market_user.ali_uid'], name=op.f('fk_market_order_ali_uid_market_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_order')),
    sa.UniqueConstraint('order_biz_id', name=op.f('uq_market_order_order_biz_id')),
    sa.UniqueConstraint('order_id', name=op.f('uq_market_order_order_id'))
    )
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_market_order_ali_uid'), ['ali_uid'], unique=False)
