"""A DataWay token per workspace (the DataKit page's install command), backfilled for existing ones.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token', sa.String(length=64), nullable=True))
    # Each existing workspace gets its own token (the same rule as wizard.models.new_workspace_token).
    workspace = sa.table('workspace', sa.column('id', sa.Integer), sa.column('token', sa.String))
    connection = op.get_bind()
    for (workspace_id,) in connection.execute(sa.select(workspace.c.id)).all():
        connection.execute(
            workspace.update().where(workspace.c.id == workspace_id).values(token=f"tkn_{secrets.token_hex(16)}")
        )
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_workspace_token'), ['token'])


def downgrade():
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_workspace_token'), type_='unique')
        batch_op.drop_column('token')
