"""approvals notifications announcements outbox

Revision ID: e65ae11f18e4
Revises: c9d91d42de50
Create Date: 2026-11-22 10:17:58.885606

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'e65ae11f18e4'
down_revision = 'c9d91d42de50'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('approval_chain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_approval_chain_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_chain')),
    sa.UniqueConstraint('key', 'store_id', name=op.f('uq_approval_chain_key_store_id'))
    )
    with op.batch_alter_table('approval_chain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_chain_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_chain_store_id'), ['store_id'], unique=False)

    op.create_table('announcement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('audience', sa.Enum('all', 'unit', 'role', 'users', name='audience_kind', native_enum=False, length=32), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('unit_path', sa.String(length=400), nullable=True),
    sa.Column('role_key', sa.String(length=60), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('publish_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_announcement_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_announcement_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement'))
    )
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_announcement_window', ['publish_at', 'expires_at'], unique=False)

    op.create_table('approval_chain_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['chain_id'], ['approval_chain.id'], name=op.f('fk_approval_chain_version_chain_id_approval_chain'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_approval_chain_version_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_chain_version')),
    sa.UniqueConstraint('chain_id', 'version', name=op.f('uq_approval_chain_version_chain_id_version'))
    )
    op.create_table('email_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='email_status', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_email_outbox_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_outbox'))
    )
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_email_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_outbox_user_id'), ['user_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_notification_store_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_unread', ['user_id', 'read_at', 'id'], unique=False)

    op.create_table('notification_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('in_app', sa.Boolean(), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_preference_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preference')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preference_user_id_kind'))
    )
    op.create_table('announcement_read',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcement.id'], name=op.f('fk_announcement_read_announcement_id_announcement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_announcement_read_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('announcement_id', 'user_id', name=op.f('pk_announcement_read'))
    )
    op.create_table('announcement_recipient',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcement.id'], name=op.f('fk_announcement_recipient_announcement_id_announcement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_announcement_recipient_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('announcement_id', 'user_id', name=op.f('pk_announcement_recipient'))
    )
    with op.batch_alter_table('announcement_recipient', schema=None) as batch_op:
        batch_op.create_index('ix_announcement_recipient_user', ['user_id', 'announcement_id'], unique=False)

    op.create_table('approval_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('chain_key', sa.String(length=60), nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=True),
    sa.Column('chain_version', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('object_type', sa.String(length=50), nullable=True),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('submitter_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='approval_status', native_enum=False, length=32), nullable=False),
    sa.Column('current_step', sa.Integer(), nullable=True),
    sa.Column('snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chain_id'], ['approval_chain.id'], name=op.f('fk_approval_request_chain_id_approval_chain'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_approval_request_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_approval_request_store_id_org_unit')),
    sa.ForeignKeyConstraint(['submitter_id'], ['user.id'], name=op.f('fk_approval_request_submitter_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_request'))
    )
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_request_chain_key'), ['chain_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_request_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_approval_request_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index('ix_approval_request_store_status', ['store_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_approval_request_submitter', ['submitter_id', 'id'], unique=False)

    op.create_table('approval_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Enum('approved', 'rejected', 'auto_passed', 'skipped', 'reminded', 'escalated', name='decision_outcome', native_enum=False, length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_approval_decision_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['approval_request.id'], name=op.f('fk_approval_decision_request_id_approval_request'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_approval_decision_store_id_org_unit')),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_approval_decision_task_id_human_task'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_decision')),
    sa.UniqueConstraint('task_id', name=op.f('uq_approval_decision_task_id'))
    )
    with op.batch_alter_table('approval_decision', schema=None) as batch_op:
        batch_op.create_index('ix_approval_decision_by', ['decided_by_id', 'id'], unique=False)
        batch_op.create_index('ix_approval_decision_request', ['request_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('approval_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_decision_request')
        batch_op.drop_index('ix_approval_decision_by')

    op.drop_table('approval_decision')
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_request_submitter')
        batch_op.drop_index('ix_approval_request_store_status')
        batch_op.drop_index('ix_approval_request_object')
        batch_op.drop_index(batch_op.f('ix_approval_request_instance_id'))
        batch_op.drop_index(batch_op.f('ix_approval_request_chain_key'))

    op.drop_table('approval_request')
    with op.batch_alter_table('announcement_recipient', schema=None) as batch_op:
        batch_op.drop_index('ix_announcement_recipient_user')

    op.drop_table('announcement_recipient')
    op.drop_table('announcement_read')
    op.drop_table('notification_preference')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_unread')

    op.drop_table('notification')
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_outbox_user_id'))
        batch_op.drop_index('ix_email_outbox_due')

    op.drop_table('email_outbox')
    op.drop_table('approval_chain_version')
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.drop_index('ix_announcement_window')
        batch_op.drop_index(batch_op.f('ix_announcement_unit_id'))

    op.drop_table('announcement')
    with op.batch_alter_table('approval_chain', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_chain_store_id'))
        batch_op.drop_index(batch_op.f('ix_approval_chain_key'))

    op.drop_table('approval_chain')
