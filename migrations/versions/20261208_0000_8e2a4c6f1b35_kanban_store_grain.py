"""The kanban's sales, product and province/terminal summaries per store × day as well as per salesperson

`kanban_store_sales_day`, `kanban_store_product_day`, `kanban_store_dim_day`: the rows of
`kanban_sales_day`, `kanban_product_day` and `kanban_dim_day` summed over the salespeople. A viewer who sees
whole stores with no salesperson or department filter (HQ, a subsidiary or store manager) reads these: a
year of the whole company is 10 stores × 365 rows instead of 1,000 salespeople's. Maintained with the
per-salesperson rows in the same statement; filled here from them.

Revision ID: 8e2a4c6f1b35
Revises: 5d7f9b1c3e24
Create Date: 2026-12-08 00:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '8e2a4c6f1b35'
down_revision = '5d7f9b1c3e24'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=14, scale=2)


def upgrade():
    op.create_table('kanban_store_sales_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('amount', MONEY, nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('revisited', sa.Integer(), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.Column('positive', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kanban_store_sales_day'))
    )
    with op.batch_alter_table('kanban_store_sales_day', schema=None) as batch_op:
        batch_op.create_index('uq_kanban_store_sales_day', ['day', 'store_id'], unique=True)

    op.create_table('kanban_store_product_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', MONEY, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kanban_store_product_day'))
    )
    with op.batch_alter_table('kanban_store_product_day', schema=None) as batch_op:
        batch_op.create_index('uq_kanban_store_product_day', ['day', 'store_id', 'product_id'], unique=True)

    op.create_table('kanban_store_dim_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dim', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('amount', MONEY, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kanban_store_dim_day'))
    )
    with op.batch_alter_table('kanban_store_dim_day', schema=None) as batch_op:
        batch_op.create_index('uq_kanban_store_dim_day', ['day', 'store_id', 'dim', 'value'], unique=True)

    op.execute("INSERT INTO kanban_store_sales_day (store_id, day, orders, amount, returned, completed, revisited, "
               "ratings, positive, paid) SELECT store_id, day, sum(orders), sum(amount), sum(returned), "
               "sum(completed), sum(revisited), sum(ratings), sum(positive), sum(paid) FROM kanban_sales_day "
               "GROUP BY store_id, day")
    op.execute("INSERT INTO kanban_store_product_day (store_id, day, product_id, quantity, amount) "
               "SELECT store_id, day, product_id, sum(quantity), sum(amount) FROM kanban_product_day "
               "GROUP BY store_id, day, product_id")
    op.execute("INSERT INTO kanban_store_dim_day (store_id, day, dim, value, orders, amount) "
               "SELECT store_id, day, dim, value, sum(orders), sum(amount) FROM kanban_dim_day "
               "GROUP BY store_id, day, dim, value")


def downgrade():
    for table in ('kanban_store_dim_day', 'kanban_store_product_day', 'kanban_store_sales_day'):
        op.drop_table(table)
