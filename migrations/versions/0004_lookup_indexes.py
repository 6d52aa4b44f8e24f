"""Indexes for the lookups the bind page and the console make on every request.

marketplace_instance.workspace_id had only the partial unique index of live instances, which a
plain `workspace_id = ?` lookup (Workspace.instances) cannot use; workspace_member's key starts
with workspace_id, so looking up an account's workspaces scanned the table. Found by the
benchmark: B2 on SQLite fell to 16% of the bare floor once the database held a few thousand
instances.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('marketplace_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marketplace_instance_workspace_id'), ['workspace_id'], unique=False)
    with op.batch_alter_table('workspace_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_member_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('workspace_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workspace_member_account_id'))
    with op.batch_alter_table('marketplace_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marketplace_instance_workspace_id'))
