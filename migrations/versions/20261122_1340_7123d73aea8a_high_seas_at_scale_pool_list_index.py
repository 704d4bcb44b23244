"""High seas at scale: a partial index for the pool list

The pool list reads a store's customers without an owner, newest first. A partial index on
(store_id, created_at, id) WHERE owner_id IS NULL keeps the first page an index range read however few
pool customers a store has among its owned ones (issue 7: p95 ≤ 50 ms at 1 M customers).

Revision ID: 7123d73aea8a
Revises: 7c1e5a9d2b40
Create Date: 2026-11-22 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7123d73aea8a'
down_revision = '7c1e5a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index('ix_customer_pool_created', ['store_id', 'created_at', 'id'], unique=False,
                              postgresql_where=sa.text('owner_id IS NULL'),
                              sqlite_where=sa.text('owner_id IS NULL'))


def downgrade():
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_pool_created', postgresql_where=sa.text('owner_id IS NULL'),
                            sqlite_where=sa.text('owner_id IS NULL'))
