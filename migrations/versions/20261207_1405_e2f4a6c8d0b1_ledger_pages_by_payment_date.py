"""The ledger pages by payment date: its indexes lead with (store | salesperson | none, paid_on, id)

The ledger lists money newest payment date first (keyset on `(paid_on, id)`); a filter such as "Alipay in
one quarter" then reads its quarter instead of walking the id index through two years of rows. The
`(store_id, id)` and `(owner_id, id)` indexes served the old id order only, so they are replaced. An amount
range matches few rows spread over every date: `amount` gets an index of its own.

Revision ID: e2f4a6c8d0b1
Revises: 2cc0c700779a
Create Date: 2026-12-07 14:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e2f4a6c8d0b1'
down_revision = '2cc0c700779a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_payment_store')
        batch_op.drop_index('ix_finance_payment_owner')
        batch_op.drop_index('ix_finance_payment_status')
        batch_op.create_index('ix_finance_payment_store_day', ['store_id', 'paid_on', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_owner_day', ['owner_id', 'paid_on', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_day', ['paid_on', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_status', ['status', 'store_id', 'paid_on', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_amount', ['amount'], unique=False)


def downgrade():
    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_payment_amount')
        batch_op.drop_index('ix_finance_payment_status')
        batch_op.drop_index('ix_finance_payment_day')
        batch_op.drop_index('ix_finance_payment_owner_day')
        batch_op.drop_index('ix_finance_payment_store_day')
        batch_op.create_index('ix_finance_payment_status', ['status', 'store_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_owner', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_store', ['store_id', 'id'], unique=False)
