"""Make-up payments: `finance_make_up`, `sales_order.make_up_amount`, the receivables' index on what orders owe

`finance_make_up` holds every make-up (补款) requested on a signed order: amount, kind (freight, price
correction, quantity change, other), reason, the day the customer should pay it by, its status (requested,
approved, rejected, withdrawn), who asked and when, and its `make_up` process instance; the order's store,
customer and salesperson copied in for the list. `sales_order.make_up_amount` is the sum of the order's
approved make-ups (0 for every existing order): what an order owes is now total + make_up_amount, so the
partial index `ix_sales_order_owing` is recreated with that predicate.

Revision ID: 4d8e2f6a1b3c
Revises: a7b9c1d3e5f7
Create Date: 2026-12-07 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db


# revision identifiers, used by Alembic.
revision = '4d8e2f6a1b3c'
down_revision = 'a7b9c1d3e5f7'
branch_labels = None
depends_on = None

CLOSED = "(status NOT IN ('cancelled', 'pending_refund'))"
OLD_OWING = f"signed_at IS NOT NULL AND total > paid_amount AND {CLOSED}"
NEW_OWING = f"signed_at IS NOT NULL AND total + make_up_amount > paid_amount AND {CLOSED}"


def upgrade():
    op.create_table('finance_make_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('kind', sa.Enum('freight', 'price_correction', 'quantity_change', 'other', name='finance_make_up_kind', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('requested', 'approved', 'rejected', 'withdrawn', name='finance_make_up_status', native_enum=False, length=32), nullable=False),
    sa.Column('decision_note', sa.String(length=500), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_finance_make_up_customer_id_customer')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_finance_make_up_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_finance_make_up_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_finance_make_up_owner_id_user')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_finance_make_up_requested_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_finance_make_up_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_make_up'))
    )
    with op.batch_alter_table('finance_make_up', schema=None) as batch_op:
        batch_op.create_index('ix_finance_make_up_order', ['order_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_make_up_status', ['status', 'store_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_make_up_store', ['store_id', 'id'], unique=False)

    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('make_up_amount', sa.Numeric(precision=14, scale=2), nullable=False,
                                      server_default='0.00'))
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.alter_column('make_up_amount', server_default=None)
        batch_op.drop_index('ix_sales_order_owing', postgresql_where=sa.text(OLD_OWING), sqlite_where=sa.text(OLD_OWING))
        batch_op.create_index('ix_sales_order_owing', ['store_id', 'id'], unique=False,
                              postgresql_where=sa.text(NEW_OWING), sqlite_where=sa.text(NEW_OWING))


def downgrade():
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_order_owing', postgresql_where=sa.text(NEW_OWING), sqlite_where=sa.text(NEW_OWING))
        batch_op.create_index('ix_sales_order_owing', ['store_id', 'id'], unique=False,
                              postgresql_where=sa.text(OLD_OWING), sqlite_where=sa.text(OLD_OWING))
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_column('make_up_amount')

    with op.batch_alter_table('finance_make_up', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_make_up_store')
        batch_op.drop_index('ix_finance_make_up_status')
        batch_op.drop_index('ix_finance_make_up_order')

    op.drop_table('finance_make_up')
