"""The kanban's exact buyer counts without grouping per customer: `kanban_customer_day.prev_day` and
`kanban_customer.second_order_day`

`kanban_customer_day.prev_day`: the day of the customer's previous row with orders (rows ordered by day,
then salesperson; NULL for the first, and for rows whose orders went back to zero). A customer has an order
in a window and one before it exactly when their first row inside the window has a `prev_day` before the
window, so the HQ kanban counts buyers and returning buyers as rows instead of aggregating every buyer.
`kanban_customer.second_order_day`: the day the customer's orders reach two (their first order day for two
orders that day): whether a new buyer of a window repurchased in it.

The kanban's windows read customer days by day, customers by creation and by first order day: the
indexes with the store first serve a store's page, new ones with the day first serve HQ's, which reads every
store (one range of each instead of the tables).

Both are filled here from the existing rows, with the statements the maintenance uses
(`crm.dashboard.kanban.chain.rechain`), for every customer.

Revision ID: 5d7f9b1c3e24
Revises: 2b4d6f8a0c13
Create Date: 2026-12-07 23:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '5d7f9b1c3e24'
down_revision = '2b4d6f8a0c13'
branch_labels = None
depends_on = None

CHAIN_DAYS = """UPDATE kanban_customer_day SET prev_day = CASE WHEN orders > 0 THEN (
    SELECT max(p.day) FROM kanban_customer_day AS p WHERE p.customer_id = kanban_customer_day.customer_id
    AND p.orders > 0 AND (p.day < kanban_customer_day.day
                          OR (p.day = kanban_customer_day.day AND p.owner_id < kanban_customer_day.owner_id))) END"""
CHAIN_CUSTOMERS = """UPDATE kanban_customer SET
    first_order_day = (SELECT min(d.day) FROM kanban_customer_day AS d
                       WHERE d.customer_id = kanban_customer.customer_id AND d.orders > 0),
    second_order_day = (SELECT min(d.day) FROM kanban_customer_day AS d
                        WHERE d.customer_id = kanban_customer.customer_id AND d.orders > 0
                        AND (SELECT sum(e.orders) FROM kanban_customer_day AS e
                             WHERE e.customer_id = d.customer_id AND e.day <= d.day AND e.orders > 0) >= 2)"""


def upgrade():
    with op.batch_alter_table('kanban_customer_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_day', sa.Date(), nullable=True))
        batch_op.create_index('ix_kanban_customer_day_day', ['day', 'store_id'], unique=False)
    with op.batch_alter_table('kanban_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_order_day', sa.Date(), nullable=True))
        batch_op.create_index('ix_kanban_customer_created', ['created_day', 'store_id'], unique=False)
        batch_op.create_index('ix_kanban_customer_first', ['first_order_day', 'store_id'], unique=False)
        batch_op.create_index('ix_kanban_customer_store_first', ['store_id', 'first_order_day'], unique=False)
    op.execute(CHAIN_DAYS)
    op.execute(CHAIN_CUSTOMERS)


def downgrade():
    with op.batch_alter_table('kanban_customer', schema=None) as batch_op:
        batch_op.drop_index('ix_kanban_customer_store_first')
        batch_op.drop_index('ix_kanban_customer_first')
        batch_op.drop_index('ix_kanban_customer_created')
        batch_op.drop_column('second_order_day')
    with op.batch_alter_table('kanban_customer_day', schema=None) as batch_op:
        batch_op.drop_index('ix_kanban_customer_day_day')
        batch_op.drop_column('prev_day')
