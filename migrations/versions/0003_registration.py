"""Registration path: R1's server-side draft, and the registration that 免登 resumes at R3.

registration_draft keeps R1's answers (the password only as a hash) until R2 creates the Guance
account; marketplace_registration links that account to the Aliyun account until R3 completes it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registration_draft',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('ali_uid', sa.String(length=32), nullable=False),
    sa.Column('site', sa.String(length=8), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_draft'))
    )
    with op.batch_alter_table('registration_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_draft_ali_uid'), ['ali_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_draft_expires_at'), ['expires_at'], unique=False)

    op.create_table('marketplace_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ali_uid', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['guance_account.id'], name=op.f('fk_marketplace_registration_account_id_guance_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_marketplace_registration_workspace_id_workspace'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketplace_registration')),
    sa.UniqueConstraint('account_id', name=op.f('uq_marketplace_registration_account_id')),
    sa.UniqueConstraint('ali_uid', name=op.f('uq_marketplace_registration_ali_uid'))
    )


def downgrade():
    op.drop_table('marketplace_registration')
    with op.batch_alter_table('registration_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_draft_expires_at'))
        batch_op.drop_index(batch_op.f('ix_registration_draft_ali_uid'))

    op.drop_table('registration_draft')
