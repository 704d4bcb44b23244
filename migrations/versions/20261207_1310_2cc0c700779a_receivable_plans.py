"""Receivable plans: an order's instalments, the collections that name one, and the receivables' index

`finance_plan` (one per order) and `finance_instalment` (number, amount, due date, expected method, the
reminder's days and day, the verified collections allocated to it, the reminder job's two markers);
`finance_payment.instalment_id` lets a collection name the instalment it pays (set to NULL if that
instalment is removed from the plan). `ix_sales_order_owing` is a partial index of the orders that still
owe (signed, not cancelled or being refunded, total above the verified collections): the receivables'
ageing reads only those. Orders recorded before have no plan: each is one implicit instalment.

Revision ID: 2cc0c700779a
Revises: 3b1eca6450b2
Create Date: 2026-12-07 12:35:26.561186

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db


# revision identifiers, used by Alembic.
revision = '2cc0c700779a'
down_revision = '3b1eca6450b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('finance_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_finance_plan_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_finance_plan_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_finance_plan_owner_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_finance_plan_store_id_org_unit')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_finance_plan_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_plan')),
    sa.UniqueConstraint('order_id', name=op.f('uq_finance_plan_order_id'))
    )
    with op.batch_alter_table('finance_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_plan_store_id'), ['store_id'], unique=False)

    op.create_table('finance_instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('method', sa.Enum('bank_transfer', 'alipay', 'wechat_pay', 'platform_settlement', 'cash', 'other', name='finance_payment_method', native_enum=False, length=32), nullable=True),
    sa.Column('remind_days', sa.Integer(), nullable=False),
    sa.Column('remind_on', sa.Date(), nullable=False),
    sa.Column('collected', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reminded_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overdue_sent_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_finance_instalment_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['finance_plan.id'], name=op.f('fk_finance_instalment_plan_id_finance_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_finance_instalment_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_instalment'))
    )
    with op.batch_alter_table('finance_instalment', schema=None) as batch_op:
        batch_op.create_index('ix_finance_instalment_order', ['order_id', 'due_on', 'id'], unique=False)
        batch_op.create_index('ix_finance_instalment_overdue', ['due_on'], unique=False, postgresql_where=sa.text("overdue_sent_at IS NULL"), sqlite_where=sa.text("overdue_sent_at IS NULL"))
        batch_op.create_index('ix_finance_instalment_plan', ['plan_id', 'number'], unique=False)
        batch_op.create_index('ix_finance_instalment_remind', ['remind_on'], unique=False, postgresql_where=sa.text("reminded_at IS NULL"), sqlite_where=sa.text("reminded_at IS NULL"))

    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instalment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_finance_payment_instalment_id'), ['instalment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_finance_payment_instalment_id_finance_instalment'), 'finance_instalment', ['instalment_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.create_index('ix_sales_order_owing', ['store_id', 'id'], unique=False, postgresql_where=sa.text("signed_at IS NOT NULL AND total > paid_amount AND (status NOT IN ('cancelled', 'pending_refund'))"), sqlite_where=sa.text("signed_at IS NOT NULL AND total > paid_amount AND (status NOT IN ('cancelled', 'pending_refund'))"))



def downgrade():
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_order_owing', postgresql_where=sa.text("signed_at IS NOT NULL AND total > paid_amount AND (status NOT IN ('cancelled', 'pending_refund'))"), sqlite_where=sa.text("signed_at IS NOT NULL AND total > paid_amount AND (status NOT IN ('cancelled', 'pending_refund'))"))

    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_finance_payment_instalment_id_finance_instalment'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_finance_payment_instalment_id'))
        batch_op.drop_column('instalment_id')

    with op.batch_alter_table('finance_instalment', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_instalment_remind', postgresql_where=sa.text("reminded_at IS NULL"), sqlite_where=sa.text("reminded_at IS NULL"))
        batch_op.drop_index('ix_finance_instalment_plan')
        batch_op.drop_index('ix_finance_instalment_overdue', postgresql_where=sa.text("overdue_sent_at IS NULL"), sqlite_where=sa.text("overdue_sent_at IS NULL"))
        batch_op.drop_index('ix_finance_instalment_order')

    op.drop_table('finance_instalment')
    with op.batch_alter_table('finance_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_plan_store_id'))

    op.drop_table('finance_plan')
