"""The receivables' due rows: `finance_receivable_due`, filled from the orders that still owe

One row per open instalment of an order that still owes (or one row of everything still due for an order
without a plan, due on the local day in Asia/Shanghai the order started to wait for its money). The
application keeps it in step with the orders from now on (crm/finance/ledger/dues.py); this revision
fills it once from the rows already there.

Revision ID: 9d1f3b5a7c08
Revises: b8d0f2a4c6e8
Create Date: 2026-12-07 17:15:00

"""
from datetime import UTC
from decimal import Decimal
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '9d1f3b5a7c08'
down_revision = 'b8d0f2a4c6e8'
branch_labels = None
depends_on = None

OWING = ("o.signed_at IS NOT NULL AND o.total + o.make_up_amount > o.paid_amount "
         "AND o.status NOT IN ('cancelled', 'pending_refund')")


def _local_day(instant):
    if instant is None:
        return None
    if instant.tzinfo is None:  # SQLite hands back naive UTC
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo("Asia/Shanghai")).date()


def upgrade():
    table = op.create_table(
        'finance_receivable_due',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'],
                                name=op.f('fk_finance_receivable_due_order_id_sales_order'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_finance_receivable_due_owner_id_user')),
        sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_finance_receivable_due_store_id_org_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_receivable_due')),
    )
    with op.batch_alter_table('finance_receivable_due', schema=None) as batch_op:
        batch_op.create_index('ix_finance_receivable_due_order', ['order_id'], unique=False)
        batch_op.create_index('ix_finance_receivable_due_store', ['store_id', 'owner_id', 'due_on'], unique=False)

    bind = op.get_bind()
    rows = [dict(r._mapping) for r in bind.execute(sa.text(
        "SELECT o.id AS order_id, o.store_id, o.owner_id, i.due_on, i.amount - i.collected AS amount "
        "FROM sales_order o JOIN finance_plan p ON p.order_id = o.id "
        "JOIN finance_instalment i ON i.plan_id = p.id AND i.amount > i.collected WHERE " + OWING
    ).columns(due_on=sa.Date(), amount=sa.Numeric(14, 2)))]
    for r in bind.execute(sa.text(
        "SELECT o.id AS order_id, o.store_id, o.owner_id, o.payment_mode, o.signed_at, o.received_at, "
        "o.total + o.make_up_amount - o.paid_amount AS amount FROM sales_order o "
        "WHERE NOT EXISTS (SELECT 1 FROM finance_plan p WHERE p.order_id = o.id) AND " + OWING
    ).columns(signed_at=sa.DateTime(timezone=True), received_at=sa.DateTime(timezone=True),
              amount=sa.Numeric(14, 2))):
        due = r.signed_at if r.payment_mode == 'prepay' else r.received_at
        rows.append({"order_id": r.order_id, "store_id": r.store_id, "owner_id": r.owner_id,
                     "due_on": _local_day(due), "amount": Decimal(r.amount)})
    for start in range(0, len(rows), 5000):
        op.bulk_insert(table, rows[start:start + 5000])


def downgrade():
    with op.batch_alter_table('finance_receivable_due', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_receivable_due_store')
        batch_op.drop_index('ix_finance_receivable_due_order')
    op.drop_table('finance_receivable_due')
