"""Operations: operators and their audit trail, the activation funnel, webhooks, and the indexes the
operators' console needs on large tables.

spi_call and email_notice get the instance they name as a column of their own (filled in from their
JSON for existing rows), so an instance's timeline is an index lookup. activation_progress starts with
every existing instance (created, or activated when it was bound), so stuck activations show them;
the funnel's events start with this version.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activation_progress',
    sa.Column('instance_id', sa.String(length=64), nullable=False),
    sa.Column('ali_uid', sa.String(length=32), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_activation_progress'))
    )
    with op.batch_alter_table('activation_progress', schema=None) as batch_op:
        batch_op.create_index('ix_activation_progress_waiting', ['reached_at', 'instance_id'], unique=False, sqlite_where=sa.text('activated_at IS NULL'), postgresql_where=sa.text('activated_at IS NULL'))

    op.create_table('funnel_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=False),
    sa.Column('ali_uid', sa.String(length=32), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('previous_step', sa.String(length=32), nullable=True),
    sa.Column('seconds_on_previous', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_event')),
    sa.UniqueConstraint('instance_id', 'step', name=op.f('uq_funnel_event_instance_id_step'))
    )
    with op.batch_alter_table('funnel_event', schema=None) as batch_op:
        batch_op.create_index('ix_funnel_event_entered_at', ['entered_at', 'step', 'previous_step', 'seconds_on_previous'], unique=False)

    op.create_table('operator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), server_default='operator', nullable=False),
    sa.Column('totp_secret', sa.Text(), nullable=False),
    sa.Column('totp_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('operator')", name=op.f('ck_operator_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator')),
    sa.UniqueConstraint('username', name=op.f('uq_operator_username'))
    )
    op.create_table('operator_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_operator_audit_operator_id_operator'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_audit'))
    )
    with op.batch_alter_table('operator_audit', schema=None) as batch_op:
        batch_op.create_index('ix_operator_audit_action', ['action', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operator_audit_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_operator_audit_operator_id', ['operator_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_operator_audit_target', ['target_type', 'target_id', 'created_at', 'id'], unique=False)

    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('secret_hint', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['operator.id'], name=op.f('fk_webhook_endpoint_created_by_operator'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint'))
    )
    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_delivery_status')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], name=op.f('fk_webhook_delivery_endpoint_id_webhook_endpoint'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('endpoint_id', 'event_id', name=op.f('uq_webhook_delivery_endpoint_id_event_id'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['next_attempt_at'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_webhook_delivery_endpoint', ['endpoint_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_webhook_delivery_instance', ['instance_id', 'created_at', 'id'], unique=False)

    op.create_table('webhook_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.id'], name=op.f('fk_webhook_attempt_delivery_id_webhook_delivery'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempt'))
    )
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempt_delivery_id'), ['delivery_id'], unique=False)

    with op.batch_alter_table('email_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_email_notice_instance', ['instance_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('marketplace_instance', schema=None) as batch_op:
        batch_op.create_index('ix_marketplace_instance_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_marketplace_instance_status', ['status', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('metering_hour', schema=None) as batch_op:
        batch_op.create_index('ix_metering_hour_status', ['status', 'hour_start'], unique=False)

    with op.batch_alter_table('spi_call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_spi_call_action', ['action', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_spi_call_instance', ['instance_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_spi_call_outcome', ['outcome', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.create_index('ix_workspace_name', ['name'], unique=False, postgresql_ops={'name': 'varchar_pattern_ops'})

    backfill()


def backfill():
    json_text = {
        "postgresql": "({column}::json ->> '{key}')",
        "sqlite": "json_extract({column}, '$.{key}')",
    }[op.get_bind().dialect.name]
    instance = "COALESCE({}, {})".format(
        json_text.format(column="params", key="instanceId"), json_text.format(column="params", key="orderBizId")
    )
    op.execute(f"UPDATE spi_call SET instance_id = substr({instance}, 1, 64)")
    notice_instance = json_text.format(column="template_values", key="instance_id")
    op.execute(f"UPDATE email_notice SET instance_id = NULLIF(substr({notice_instance}, 1, 64), '')")
    op.execute(
        "INSERT INTO activation_progress (instance_id, ali_uid, step, reached_at, entered_at, activated_at) "
        "SELECT instance_id, ali_uid, CASE WHEN bound_at IS NULL THEN 'created' ELSE 'activated' END, "
        "COALESCE(bound_at, created_at), created_at, bound_at FROM marketplace_instance"
    )


def downgrade():
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_index('ix_workspace_name', postgresql_ops={'name': 'varchar_pattern_ops'})

    with op.batch_alter_table('spi_call', schema=None) as batch_op:
        batch_op.drop_index('ix_spi_call_outcome')
        batch_op.drop_index('ix_spi_call_instance')
        batch_op.drop_index('ix_spi_call_action')
        batch_op.drop_column('instance_id')

    with op.batch_alter_table('metering_hour', schema=None) as batch_op:
        batch_op.drop_index('ix_metering_hour_status')

    with op.batch_alter_table('marketplace_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_marketplace_instance_status')
        batch_op.drop_index('ix_marketplace_instance_created')

    with op.batch_alter_table('email_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_email_notice_instance')
        batch_op.drop_column('instance_id')

    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempt_delivery_id'))

    op.drop_table('webhook_attempt')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_delivery_instance')
        batch_op.drop_index('ix_webhook_delivery_endpoint')
        batch_op.drop_index('ix_webhook_delivery_due', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.drop_table('webhook_delivery')
    op.drop_table('webhook_endpoint')
    with op.batch_alter_table('operator_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_operator_audit_target')
        batch_op.drop_index('ix_operator_audit_operator_id')
        batch_op.drop_index(batch_op.f('ix_operator_audit_created_at'))
        batch_op.drop_index('ix_operator_audit_action')

    op.drop_table('operator_audit')
    op.drop_table('operator')
    with op.batch_alter_table('funnel_event', schema=None) as batch_op:
        batch_op.drop_index('ix_funnel_event_entered_at')

    op.drop_table('funnel_event')
    with op.batch_alter_table('activation_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_activation_progress_waiting', sqlite_where=sa.text('activated_at IS NULL'), postgresql_where=sa.text('activated_at IS NULL'))

    op.drop_table('activation_progress')
