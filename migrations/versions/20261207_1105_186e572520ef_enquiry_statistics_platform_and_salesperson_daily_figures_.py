"""Enquiry statistics: platform and salesperson daily figures, screenshots, imports, reminders

`enquiry_daily` (one row per store and day: enquiries, new enquiries), `enquiry_salesperson_daily` (one
row per salesperson, store and day: WeChat adds, contacts), `enquiry_screenshot` (uploaded WeChat
screenshots), `enquiry_import` (an import's counts and refused rows), `enquiry_reminder` (one reminder
per person and day). Corrections are kept in `operation_log`. The new `enquiry.*` permissions reach
existing roles through the defaults offer (`flask crm sync-roles`, or the notice on Administration → Roles).

Revision ID: 186e572520ef
Revises: 5b1d7e0c9a42
Create Date: 2026-12-07 11:05:46.611517

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '186e572520ef'
down_revision = '5b1d7e0c9a42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enquiry_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('enquiries', sa.Integer(), nullable=False),
    sa.Column('new_enquiries', sa.Integer(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user.id'], name=op.f('fk_enquiry_daily_entered_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_enquiry_daily_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiry_daily'))
    )
    with op.batch_alter_table('enquiry_daily', schema=None) as batch_op:
        batch_op.create_index('ix_enquiry_daily_day', ['day', 'store_id'], unique=False)
        batch_op.create_index('uq_enquiry_daily_store_day', ['store_id', 'day'], unique=True)

    op.create_table('enquiry_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_enquiry_import_created_by_id_user')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_enquiry_import_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiry_import'))
    )
    with op.batch_alter_table('enquiry_import', schema=None) as batch_op:
        batch_op.create_index('ix_enquiry_import_author', ['created_by_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enquiry_import_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('enquiry_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_enquiry_reminder_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiry_reminder'))
    )
    with op.batch_alter_table('enquiry_reminder', schema=None) as batch_op:
        batch_op.create_index('uq_enquiry_reminder', ['user_id', 'day'], unique=True)

    op.create_table('enquiry_salesperson_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('wechat_adds', sa.Integer(), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user.id'], name=op.f('fk_enquiry_salesperson_daily_entered_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_enquiry_salesperson_daily_store_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_enquiry_salesperson_daily_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiry_salesperson_daily'))
    )
    with op.batch_alter_table('enquiry_salesperson_daily', schema=None) as batch_op:
        batch_op.create_index('ix_enquiry_salesperson_daily_day', ['day', 'user_id'], unique=False)
        batch_op.create_index('ix_enquiry_salesperson_daily_store_day', ['store_id', 'day'], unique=False)
        batch_op.create_index('uq_enquiry_salesperson_daily', ['user_id', 'store_id', 'day'], unique=True)

    op.create_table('enquiry_screenshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('stored_name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_enquiry_screenshot_store_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_enquiry_screenshot_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiry_screenshot'))
    )
    with op.batch_alter_table('enquiry_screenshot', schema=None) as batch_op:
        batch_op.create_index('ix_enquiry_screenshot_store_day', ['store_id', 'day'], unique=False)
        batch_op.create_index('ix_enquiry_screenshot_user_day', ['user_id', 'day', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('enquiry_screenshot', schema=None) as batch_op:
        batch_op.drop_index('ix_enquiry_screenshot_user_day')
        batch_op.drop_index('ix_enquiry_screenshot_store_day')

    op.drop_table('enquiry_screenshot')
    with op.batch_alter_table('enquiry_salesperson_daily', schema=None) as batch_op:
        batch_op.drop_index('uq_enquiry_salesperson_daily')
        batch_op.drop_index('ix_enquiry_salesperson_daily_store_day')
        batch_op.drop_index('ix_enquiry_salesperson_daily_day')

    op.drop_table('enquiry_salesperson_daily')
    with op.batch_alter_table('enquiry_reminder', schema=None) as batch_op:
        batch_op.drop_index('uq_enquiry_reminder')

    op.drop_table('enquiry_reminder')
    with op.batch_alter_table('enquiry_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enquiry_import_org_unit_id'))
        batch_op.drop_index('ix_enquiry_import_author')

    op.drop_table('enquiry_import')
    with op.batch_alter_table('enquiry_daily', schema=None) as batch_op:
        batch_op.drop_index('uq_enquiry_daily_store_day')
        batch_op.drop_index('ix_enquiry_daily_day')

    op.drop_table('enquiry_daily')
