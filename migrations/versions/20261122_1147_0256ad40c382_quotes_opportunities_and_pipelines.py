"""quotes, opportunities and pipelines

Revision ID: 0256ad40c382
Revises: 9f239cc997ce
Create Date: 2026-11-22 11:47:03.107852

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())


# revision identifiers, used by Alembic.
revision = '0256ad40c382'
down_revision = '9f239cc997ce'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pipeline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_pipeline_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline'))
    )
    with op.batch_alter_table('pipeline', schema=None) as batch_op:
        batch_op.create_index('ix_pipeline_store', ['store_id', 'position', 'id'], unique=False)

    op.create_table('pipeline_stage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('win_rate', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipeline.id'], name=op.f('fk_pipeline_stage_pipeline_id_pipeline'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_pipeline_stage_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_stage'))
    )
    with op.batch_alter_table('pipeline_stage', schema=None) as batch_op:
        batch_op.create_index('ix_pipeline_stage_pipeline', ['pipeline_id', 'position', 'id'], unique=False)

    op.create_table('opportunity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('expected_close', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('open', 'won', 'lost', name='opportunity_status', native_enum=False, length=32), nullable=False),
    sa.Column('close_reason', sa.String(length=500), nullable=True),
    sa.Column('closed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_opportunity_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_opportunity_customer_id_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_opportunity_owner_id_user')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipeline.id'], name=op.f('fk_opportunity_pipeline_id_pipeline')),
    sa.ForeignKeyConstraint(['stage_id'], ['pipeline_stage.id'], name=op.f('fk_opportunity_stage_id_pipeline_stage')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_opportunity_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity'))
    )
    with op.batch_alter_table('opportunity', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_board', ['pipeline_id', 'status', 'stage_id', 'position', 'id'], unique=False)
        batch_op.create_index('ix_opportunity_customer', ['customer_id', 'status'], unique=False)
        batch_op.create_index('ix_opportunity_owner', ['owner_id', 'status', 'expected_close'], unique=False)
        batch_op.create_index('ix_opportunity_store', ['store_id', 'status', 'expected_close'], unique=False)

    op.create_table('opportunity_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], name=op.f('fk_opportunity_member_opportunity_id_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_opportunity_member_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_member'))
    )
    with op.batch_alter_table('opportunity_member', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_member_user', ['user_id'], unique=False)
        batch_op.create_index('uq_opportunity_member', ['opportunity_id', 'user_id'], unique=True)

    op.create_table('opportunity_product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], name=op.f('fk_opportunity_product_opportunity_id_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_opportunity_product_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_product'))
    )
    with op.batch_alter_table('opportunity_product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_product_opportunity_id'), ['opportunity_id'], unique=False)

    op.create_table('quote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'pending_approval', 'approved', 'rejected', 'converted', 'expired', name='quote_status', native_enum=False, length=32), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('list_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('submitted_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.Column('invoice_requested', sa.Boolean(), nullable=False),
    sa.Column('invoice_stored_name', sa.String(length=300), nullable=True),
    sa.Column('invoice_original_name', sa.String(length=200), nullable=True),
    sa.Column('invoice_content_type', sa.String(length=100), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_quote_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_quote_customer_id_customer')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], name=op.f('fk_quote_opportunity_id_opportunity'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_quote_owner_id_user')),
    sa.ForeignKeyConstraint(['previous_id'], ['quote.id'], name=op.f('fk_quote_previous_id_quote')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_quote_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote'))
    )
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.create_index('ix_quote_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quote_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index('ix_quote_owner_created', ['owner_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_quote_status_valid', ['status', 'valid_until'], unique=False)
        batch_op.create_index('ix_quote_store_created', ['store_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_quote_store_status', ['store_id', 'status'], unique=False)
        batch_op.create_index('uq_quote_number_version', ['number', 'version'], unique=True)

    op.create_table('quote_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('list_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('cost_price', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('priced_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_quote_line_customer_id_customer')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_quote_line_product_id_product')),
    sa.ForeignKeyConstraint(['quote_id'], ['quote.id'], name=op.f('fk_quote_line_quote_id_quote'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_quote_line_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_line'))
    )
    with op.batch_alter_table('quote_line', schema=None) as batch_op:
        batch_op.create_index('ix_quote_line_customer_history', ['customer_id', 'product_id', 'priced_at'], unique=False)
        batch_op.create_index('ix_quote_line_price_history', ['store_id', 'product_id', 'priced_at'], unique=False)
        batch_op.create_index('ix_quote_line_quote', ['quote_id', 'position', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('quote_line', schema=None) as batch_op:
        batch_op.drop_index('ix_quote_line_quote')
        batch_op.drop_index('ix_quote_line_price_history')
        batch_op.drop_index('ix_quote_line_customer_history')

    op.drop_table('quote_line')
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.drop_index('uq_quote_number_version')
        batch_op.drop_index('ix_quote_store_status')
        batch_op.drop_index('ix_quote_store_created')
        batch_op.drop_index('ix_quote_status_valid')
        batch_op.drop_index('ix_quote_owner_created')
        batch_op.drop_index(batch_op.f('ix_quote_opportunity_id'))
        batch_op.drop_index('ix_quote_customer')

    op.drop_table('quote')
    with op.batch_alter_table('opportunity_product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_product_opportunity_id'))

    op.drop_table('opportunity_product')
    with op.batch_alter_table('opportunity_member', schema=None) as batch_op:
        batch_op.drop_index('uq_opportunity_member')
        batch_op.drop_index('ix_opportunity_member_user')

    op.drop_table('opportunity_member')
    with op.batch_alter_table('opportunity', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_store')
        batch_op.drop_index('ix_opportunity_owner')
        batch_op.drop_index('ix_opportunity_customer')
        batch_op.drop_index('ix_opportunity_board')

    op.drop_table('opportunity')
    with op.batch_alter_table('pipeline_stage', schema=None) as batch_op:
        batch_op.drop_index('ix_pipeline_stage_pipeline')

    op.drop_table('pipeline_stage')
    with op.batch_alter_table('pipeline', schema=None) as batch_op:
        batch_op.drop_index('ix_pipeline_store')

    op.drop_table('pipeline')
