"""After-sales: `after_sales_case`, its lines and photos, `finance_payment.case_ref`, `sales_order.after_sales_open`

`after_sales_case` holds every after-sales case (售后) of an order: type (return_refund, refund_only,
exchange, reissue), reason, amount requested, the amount to refund and refunded with its refund record,
whether the invoice must be re-issued and what that step did, its status (a projection of its
`after_sales` process instance), the return shipment, the inspection, the replacement shipment, and the
order's store, customer and salesperson copied in for the list. `after_sales_line` names an order line
with the quantity and the quantity accepted at inspection; `open_order_line_id` (unique) repeats the order
line while the case is open, so one case per order line is open at a time. `after_sales_photo` holds the
inspection's photos. `finance_payment.case_ref` says which case a refund paid for ("after_sales:12"),
and `sales_order.after_sales_open` counts the order's open cases (0 for every existing order).

Revision ID: d3a5b7c9e1f2
Revises: f1a2b3c4d5e6
Create Date: 2026-12-07 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db


# revision identifiers, used by Alembic.
revision = 'd3a5b7c9e1f2'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None

TYPES = ('return_refund', 'refund_only', 'exchange', 'reissue')
STATUSES = ('pending_approval', 'awaiting_return', 'awaiting_inspection', 'awaiting_refund', 'awaiting_replacement',
            'awaiting_receipt', 'awaiting_invoice', 'completed', 'rejected', 'closed')


def upgrade():
    op.create_table('after_sales_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum(*TYPES, name='after_sales_type', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('refund_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('refunded_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('refund_payment_id', sa.Integer(), nullable=True),
    sa.Column('invoice_reissue', sa.Boolean(), nullable=False),
    sa.Column('invoice_note', sa.String(length=500), nullable=True),
    sa.Column('status', sa.Enum(*STATUSES, name='after_sales_status', native_enum=False, length=32), nullable=False),
    sa.Column('decision_note', sa.String(length=500), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('return_carrier', sa.String(length=100), nullable=True),
    sa.Column('return_tracking_no', sa.String(length=100), nullable=True),
    sa.Column('return_shipped_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('return_received_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('inspection_note', sa.String(length=2000), nullable=True),
    sa.Column('inspected_by_id', sa.Integer(), nullable=True),
    sa.Column('inspected_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replacement_carrier', sa.String(length=100), nullable=True),
    sa.Column('replacement_tracking_no', sa.String(length=100), nullable=True),
    sa.Column('replacement_shipped_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replacement_received_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('receipt_auto', sa.Boolean(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_after_sales_case_customer_id_customer')),
    sa.ForeignKeyConstraint(['inspected_by_id'], ['user.id'], name=op.f('fk_after_sales_case_inspected_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_after_sales_case_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_after_sales_case_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_after_sales_case_owner_id_user')),
    sa.ForeignKeyConstraint(['refund_payment_id'], ['finance_payment.id'], name=op.f('fk_after_sales_case_refund_payment_id_finance_payment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_after_sales_case_requested_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_after_sales_case_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sales_case'))
    )
    with op.batch_alter_table('after_sales_case', schema=None) as batch_op:
        batch_op.create_index('ix_after_sales_case_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_after_sales_case_order', ['order_id', 'id'], unique=False)
        batch_op.create_index('ix_after_sales_case_owner', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_after_sales_case_status', ['status', 'store_id', 'id'], unique=False)
        batch_op.create_index('ix_after_sales_case_store', ['store_id', 'id'], unique=False)

    op.create_table('after_sales_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('open_order_line_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('accepted_quantity', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['after_sales_case.id'], name=op.f('fk_after_sales_line_case_id_after_sales_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['sales_order_line.id'], name=op.f('fk_after_sales_line_order_line_id_sales_order_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sales_line')),
    sa.UniqueConstraint('open_order_line_id', name=op.f('uq_after_sales_line_open_order_line_id'))
    )
    with op.batch_alter_table('after_sales_line', schema=None) as batch_op:
        batch_op.create_index('ix_after_sales_line_case', ['case_id', 'id'], unique=False)
        batch_op.create_index('ix_after_sales_line_order_line', ['order_line_id'], unique=False)

    op.create_table('after_sales_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['after_sales_case.id'], name=op.f('fk_after_sales_photo_case_id_after_sales_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_after_sales_photo_uploaded_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sales_photo')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_after_sales_photo_stored_name'))
    )
    with op.batch_alter_table('after_sales_photo', schema=None) as batch_op:
        batch_op.create_index('ix_after_sales_photo_case', ['case_id', 'id'], unique=False)

    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_ref', sa.String(length=50), nullable=True))
        batch_op.create_index(batch_op.f('ix_finance_payment_case_ref'), ['case_ref'], unique=False)

    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('after_sales_open', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.alter_column('after_sales_open', server_default=None)


def downgrade():
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_column('after_sales_open')

    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_payment_case_ref'))
        batch_op.drop_column('case_ref')

    with op.batch_alter_table('after_sales_photo', schema=None) as batch_op:
        batch_op.drop_index('ix_after_sales_photo_case')
    op.drop_table('after_sales_photo')

    with op.batch_alter_table('after_sales_line', schema=None) as batch_op:
        batch_op.drop_index('ix_after_sales_line_order_line')
        batch_op.drop_index('ix_after_sales_line_case')
    op.drop_table('after_sales_line')

    with op.batch_alter_table('after_sales_case', schema=None) as batch_op:
        batch_op.drop_index('ix_after_sales_case_store')
        batch_op.drop_index('ix_after_sales_case_status')
        batch_op.drop_index('ix_after_sales_case_owner')
        batch_op.drop_index('ix_after_sales_case_order')
        batch_op.drop_index('ix_after_sales_case_customer')
    op.drop_table('after_sales_case')
