"""Platform settlements: one transfer split over several orders of a store

`finance_settlement` (store, payer, reference unique per store, method, paid on, amount, note, recorder);
`finance_payment.settlement_id` links the batch's collections; a voucher now belongs to a payment or to a
settlement (stored once for the batch): `finance_voucher.payment_id` becomes nullable, `settlement_id` is
added, and a check keeps exactly one of the two set.

Revision ID: 9b7c5a3e1f20
Revises: 4d8e2f6a1b3c
Create Date: 2026-12-07 14:10:00

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db


# revision identifiers, used by Alembic.
revision = '9b7c5a3e1f20'
down_revision = '4d8e2f6a1b3c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('finance_settlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('payer', sa.String(length=100), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('method', sa.Enum('bank_transfer', 'alipay', 'wechat_pay', 'platform_settlement', 'cash', 'other', name='finance_payment_method', native_enum=False, length=32), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_finance_settlement_recorded_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_finance_settlement_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_settlement')),
    sa.UniqueConstraint('store_id', 'reference', name='uq_finance_settlement_store_reference')
    )
    with op.batch_alter_table('finance_settlement', schema=None) as batch_op:
        batch_op.create_index('ix_finance_settlement_store', ['store_id', 'id'], unique=False)

    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_finance_payment_settlement_id'), ['settlement_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_finance_payment_settlement_id_finance_settlement'), 'finance_settlement', ['settlement_id'], ['id'])

    with op.batch_alter_table('finance_voucher', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement_id', sa.Integer(), nullable=True))
        batch_op.alter_column('payment_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index('ix_finance_voucher_settlement', ['settlement_id', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_finance_voucher_settlement_id_finance_settlement'), 'finance_settlement', ['settlement_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('one_owner', '(payment_id IS NULL) <> (settlement_id IS NULL)')


def downgrade():
    # A settlement's vouchers have no payment of their own: they go with the settlements.
    op.execute("DELETE FROM finance_voucher WHERE payment_id IS NULL")
    with op.batch_alter_table('finance_voucher', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_finance_voucher_one_owner'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_finance_voucher_settlement_id_finance_settlement'), type_='foreignkey')
        batch_op.drop_index('ix_finance_voucher_settlement')
        batch_op.alter_column('payment_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('settlement_id')

    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_finance_payment_settlement_id_finance_settlement'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_finance_payment_settlement_id'))
        batch_op.drop_column('settlement_id')

    with op.batch_alter_table('finance_settlement', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_settlement_store')

    op.drop_table('finance_settlement')
