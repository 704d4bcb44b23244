"""Contracting orders, their lines (the delivery note) and payments (collections and refunds)

Revision ID: 3000d00be3a4
Revises: 7123d73aea8a
Create Date: 2026-11-22 12:58:27.360128

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())


# revision identifiers, used by Alembic.
revision = '3000d00be3a4'
down_revision = '7123d73aea8a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sales_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('delivery_note_no', sa.String(length=30), nullable=True),
    sa.Column('status', sa.Enum('contracting', 'pending_collection', 'pending_outbound', 'pending_delivery', 'pending_receipt', 'pending_refund', 'completed', 'cancelled', name='order_status', native_enum=False, length=32), nullable=False),
    sa.Column('payment_mode', sa.Enum('prepay', 'arrears', name='payment_mode', native_enum=False, length=32), nullable=False),
    sa.Column('terminal', sa.Enum('pc', 'mobile', 'app', 'mini_program', name='order_terminal', native_enum=False, length=32), nullable=False),
    sa.Column('ship_name', sa.String(length=100), nullable=False),
    sa.Column('ship_phone', sa.String(length=30), nullable=False),
    sa.Column('ship_address', sa.String(length=500), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('list_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('refunded_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('contract_no', sa.String(length=50), nullable=True),
    sa.Column('signed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outbound_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('tracking_no', sa.String(length=100), nullable=True),
    sa.Column('shipped_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('receipt_auto', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=True),
    sa.Column('completed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('cancelled_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_sales_order_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_sales_order_customer_id_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_sales_order_owner_id_user')),
    sa.ForeignKeyConstraint(['quote_id'], ['quote.id'], name=op.f('fk_sales_order_quote_id_quote')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_sales_order_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_order')),
    sa.UniqueConstraint('number', name=op.f('uq_sales_order_number')),
    sa.UniqueConstraint('quote_id', name=op.f('uq_sales_order_quote_id'))
    )
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.create_index('ix_sales_order_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_sales_order_owner_created', ['owner_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_sales_order_signed', ['store_id', 'signed_at'], unique=False)
        batch_op.create_index('ix_sales_order_store_created', ['store_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_sales_order_store_status', ['store_id', 'status'], unique=False)

    op.create_table('sales_order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('picked_quantity', sa.Integer(), nullable=True),
    sa.Column('list_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('cost_price', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('signed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_sales_order_line_customer_id_customer')),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_sales_order_line_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_sales_order_line_product_id_product')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_sales_order_line_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_order_line'))
    )
    with op.batch_alter_table('sales_order_line', schema=None) as batch_op:
        batch_op.create_index('ix_sales_order_line_customer_history', ['customer_id', 'product_id', 'signed_at'], unique=False)
        batch_op.create_index('ix_sales_order_line_order', ['order_id', 'position', 'id'], unique=False)
        batch_op.create_index('ix_sales_order_line_price_history', ['store_id', 'product_id', 'signed_at'], unique=False)

    op.create_table('sales_order_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('collection', 'refund', name='order_payment_kind', native_enum=False, length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('method', sa.String(length=50), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_sales_order_payment_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_sales_order_payment_recorded_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_sales_order_payment_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_order_payment'))
    )
    with op.batch_alter_table('sales_order_payment', schema=None) as batch_op:
        batch_op.create_index('ix_sales_order_payment_order', ['order_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('sales_order_payment', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_order_payment_order')

    op.drop_table('sales_order_payment')
    with op.batch_alter_table('sales_order_line', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_order_line_price_history')
        batch_op.drop_index('ix_sales_order_line_order')
        batch_op.drop_index('ix_sales_order_line_customer_history')

    op.drop_table('sales_order_line')
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_order_store_status')
        batch_op.drop_index('ix_sales_order_store_created')
        batch_op.drop_index('ix_sales_order_signed')
        batch_op.drop_index('ix_sales_order_owner_created')
        batch_op.drop_index('ix_sales_order_customer')

    op.drop_table('sales_order')
