"""customers, contacts, team members, follow-ups, saved views, import jobs, leads, lead web forms and assignment rules

Revision ID: 9f239cc997ce
Revises: 4aca7602840b
Create Date: 2026-11-22 10:32:29.551739

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '9f239cc997ce'
down_revision = '4aca7602840b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lead_assignment_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('provinces', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('platforms', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('member_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('daily_capacity', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_lead_assignment_rule_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_assignment_rule'))
    )
    with op.batch_alter_table('lead_assignment_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_assignment_rule_store_id'), ['store_id'], unique=False)

    op.create_table('lead_web_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_lead_web_form_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_web_form')),
    sa.UniqueConstraint('token', name=op.f('uq_lead_web_form_token'))
    )
    with op.batch_alter_table('lead_web_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_web_form_store_id'), ['store_id'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('mobile', sa.String(length=32), nullable=True),
    sa.Column('mobile_norm', sa.String(length=20), nullable=True),
    sa.Column('chat_id', sa.String(length=64), nullable=True),
    sa.Column('chat_id_norm', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('province', sa.String(length=40), nullable=True),
    sa.Column('city', sa.String(length=40), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('source_platform', sa.String(length=32), nullable=True),
    sa.Column('source_store', sa.String(length=120), nullable=True),
    sa.Column('level', sa.Enum('a', 'b', 'c', 'd', name='customer_level', native_enum=False, length=32), nullable=True),
    sa.Column('industry', sa.String(length=80), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('tags_text', sa.String(length=400), nullable=False),
    sa.Column('product_preferences', sa.String(length=500), nullable=True),
    sa.Column('intention', sa.Enum('high', 'medium', 'low', 'none', name='purchase_intention', native_enum=False, length=32), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('won', sa.Boolean(), nullable=False),
    sa.Column('last_follow_up_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_follow_up_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_deal_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('owned_since', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_customer_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_customer_owner_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_customer_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_industry'), ['industry'], unique=False)
        batch_op.create_index('ix_customer_owner_activity', ['owner_id', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_customer_owner_created', ['owner_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_customer_store_activity', ['store_id', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_customer_store_created', ['store_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_customer_store_follow', ['store_id', 'last_follow_up_at'], unique=False)
        batch_op.create_index('ix_customer_store_level', ['store_id', 'level'], unique=False)
        batch_op.create_index('ix_customer_store_name', ['store_id', 'name', 'id'], unique=False)
        batch_op.create_index('uq_customer_store_chat', ['store_id', 'chat_id_norm'], unique=True)
        batch_op.create_index('uq_customer_store_mobile', ['store_id', 'mobile_norm'], unique=True)

    op.create_table('customer_import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('default_owner_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('stored_name', sa.String(length=200), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('on_duplicate', sa.String(length=16), nullable=False),
    sa.Column('row_choices', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('draft', 'pending', 'running', 'done', 'failed', name='import_status', native_enum=False, length=32), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('skip_reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_customer_import_job_created_by_id_user')),
    sa.ForeignKeyConstraint(['default_owner_id'], ['user.id'], name=op.f('fk_customer_import_job_default_owner_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_customer_import_job_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_import_job'))
    )
    with op.batch_alter_table('customer_import_job', schema=None) as batch_op:
        batch_op.create_index('ix_customer_import_job_status', ['status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_import_job_store_id'), ['store_id'], unique=False)

    op.create_table('customer_saved_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=False),
    sa.Column('columns', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_customer_saved_view_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_saved_view'))
    )
    with op.batch_alter_table('customer_saved_view', schema=None) as batch_op:
        batch_op.create_index('uq_customer_saved_view_user_name', ['user_id', 'name'], unique=True)

    op.create_table('customer_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.String(length=80), nullable=True),
    sa.Column('mobile', sa.String(length=32), nullable=True),
    sa.Column('chat_id', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('remarks', sa.String(length=500), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_contact_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_customer_contact_owner_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_customer_contact_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_contact'))
    )
    with op.batch_alter_table('customer_contact', schema=None) as batch_op:
        batch_op.create_index('ix_customer_contact_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_contact_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_contact_store_id'), ['store_id'], unique=False)

    op.create_table('customer_team_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('access', sa.Enum('read', 'write', name='team_access', native_enum=False, length=32), nullable=False),
    sa.Column('expires_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_customer_team_member_added_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_team_member_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_customer_team_member_store_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_customer_team_member_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_team_member'))
    )
    with op.batch_alter_table('customer_team_member', schema=None) as batch_op:
        batch_op.create_index('ix_customer_team_member_user', ['user_id', 'customer_id'], unique=False)
        batch_op.create_index('uq_customer_team_member', ['customer_id', 'user_id'], unique=True)

    op.create_table('lead',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('mobile', sa.String(length=32), nullable=True),
    sa.Column('mobile_norm', sa.String(length=20), nullable=True),
    sa.Column('chat_id', sa.String(length=64), nullable=True),
    sa.Column('chat_id_norm', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('province', sa.String(length=40), nullable=True),
    sa.Column('city', sa.String(length=40), nullable=True),
    sa.Column('source_platform', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('new', 'contacted', 'converted', 'invalid', name='lead_status', native_enum=False, length=32), nullable=False),
    sa.Column('web_form_id', sa.Integer(), nullable=True),
    sa.Column('source_ip_hash', sa.String(length=64), nullable=True),
    sa.Column('assigned_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('converted_customer_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['converted_customer_id'], ['customer.id'], name=op.f('fk_lead_converted_customer_id_customer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_lead_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_lead_owner_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_lead_store_id_org_unit')),
    sa.ForeignKeyConstraint(['web_form_id'], ['lead_web_form.id'], name=op.f('fk_lead_web_form_id_lead_web_form'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead'))
    )
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.create_index('ix_lead_form_ip', ['web_form_id', 'source_ip_hash', 'created_at'], unique=False)
        batch_op.create_index('ix_lead_owner_status', ['owner_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_lead_store_mobile', ['store_id', 'mobile_norm'], unique=False)
        batch_op.create_index('ix_lead_store_status', ['store_id', 'status', 'created_at', 'id'], unique=False)

    op.create_table('customer_follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('phone', 'email', 'visit', 'sms', 'wechat', name='follow_up_kind', native_enum=False, length=32), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('occurred_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_contact_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminder_sent_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attachments', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_customer_follow_up_author_id_user')),
    sa.ForeignKeyConstraint(['contact_id'], ['customer_contact.id'], name=op.f('fk_customer_follow_up_contact_id_customer_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_follow_up_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_customer_follow_up_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_follow_up'))
    )
    with op.batch_alter_table('customer_follow_up', schema=None) as batch_op:
        batch_op.create_index('ix_customer_follow_up_customer', ['customer_id', 'occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_customer_follow_up_due', ['reminder_sent_at', 'next_contact_at'], unique=False)
        batch_op.create_index('ix_customer_follow_up_next', ['author_id', 'next_contact_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_follow_up_store_id'), ['store_id'], unique=False)

    op.create_table('lead_follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('phone', 'email', 'visit', 'sms', 'wechat', name='lead_follow_up_kind', native_enum=False, length=32), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('occurred_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_contact_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_lead_follow_up_author_id_user')),
    sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], name=op.f('fk_lead_follow_up_lead_id_lead'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_lead_follow_up_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_follow_up'))
    )
    with op.batch_alter_table('lead_follow_up', schema=None) as batch_op:
        batch_op.create_index('ix_lead_follow_up_lead', ['lead_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_follow_up_store_id'), ['store_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lead_follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_follow_up_store_id'))
        batch_op.drop_index('ix_lead_follow_up_lead')

    op.drop_table('lead_follow_up')
    with op.batch_alter_table('customer_follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_follow_up_store_id'))
        batch_op.drop_index('ix_customer_follow_up_next')
        batch_op.drop_index('ix_customer_follow_up_due')
        batch_op.drop_index('ix_customer_follow_up_customer')

    op.drop_table('customer_follow_up')
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_store_status')
        batch_op.drop_index('ix_lead_store_mobile')
        batch_op.drop_index('ix_lead_owner_status')
        batch_op.drop_index('ix_lead_form_ip')

    op.drop_table('lead')
    with op.batch_alter_table('customer_team_member', schema=None) as batch_op:
        batch_op.drop_index('uq_customer_team_member')
        batch_op.drop_index('ix_customer_team_member_user')

    op.drop_table('customer_team_member')
    with op.batch_alter_table('customer_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_contact_store_id'))
        batch_op.drop_index(batch_op.f('ix_customer_contact_owner_id'))
        batch_op.drop_index('ix_customer_contact_customer')

    op.drop_table('customer_contact')
    with op.batch_alter_table('customer_saved_view', schema=None) as batch_op:
        batch_op.drop_index('uq_customer_saved_view_user_name')

    op.drop_table('customer_saved_view')
    with op.batch_alter_table('customer_import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_import_job_store_id'))
        batch_op.drop_index('ix_customer_import_job_status')

    op.drop_table('customer_import_job')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('uq_customer_store_mobile')
        batch_op.drop_index('uq_customer_store_chat')
        batch_op.drop_index('ix_customer_store_name')
        batch_op.drop_index('ix_customer_store_level')
        batch_op.drop_index('ix_customer_store_follow')
        batch_op.drop_index('ix_customer_store_created')
        batch_op.drop_index('ix_customer_store_activity')
        batch_op.drop_index('ix_customer_owner_created')
        batch_op.drop_index('ix_customer_owner_activity')
        batch_op.drop_index(batch_op.f('ix_customer_industry'))

    op.drop_table('customer')
    with op.batch_alter_table('lead_web_form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_web_form_store_id'))

    op.drop_table('lead_web_form')
    with op.batch_alter_table('lead_assignment_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_assignment_rule_store_id'))

    op.drop_table('lead_assignment_rule')
