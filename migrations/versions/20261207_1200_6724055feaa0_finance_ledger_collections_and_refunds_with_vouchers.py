"""The finance centre's ledger: collections and refunds with vouchers replace the order's payments

`finance_payment` holds every receipt (collection, verified by `collection_verification`) and payment
(refund) of an order, with the order's store, customer and salesperson copied in for the ledger;
`finance_voucher` the files proving them. The full payments and refunds recorded on orders before
(`sales_order_payment`) move there as verified collections and paid refunds (their free-text method
becomes `other` unless it names one of the methods). Roles that could record payments
(`order.record_payment`) may now record, verify and see collections.

Revision ID: 6724055feaa0
Revises: 186e572520ef
Create Date: 2026-12-07 11:03:03.847499

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy.dialects import postgresql


JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# revision identifiers, used by Alembic.
revision = '6724055feaa0'
down_revision = '186e572520ef'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('finance_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('in', 'out', name='finance_direction', native_enum=False, length=32), nullable=False),
    sa.Column('kind', sa.Enum('collection', 'refund', name='finance_payment_kind', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('recorded', 'verified', 'rejected', 'withdrawn', 'requested', 'refunded', name='finance_payment_status', native_enum=False, length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('method', sa.Enum('bank_transfer', 'alipay', 'wechat_pay', 'platform_settlement', 'cash', 'other', name='finance_payment_method', native_enum=False, length=32), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('payer', sa.String(length=100), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_finance_payment_customer_id_customer')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_finance_payment_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_finance_payment_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_finance_payment_owner_id_user')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_finance_payment_recorded_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_finance_payment_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_payment'))
    )
    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.create_index('ix_finance_payment_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_order', ['order_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_owner', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_reference', ['reference'], unique=False)
        batch_op.create_index('ix_finance_payment_status', ['status', 'store_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_payment_store', ['store_id', 'id'], unique=False)

    op.create_table('finance_voucher',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['finance_payment.id'], name=op.f('fk_finance_voucher_payment_id_finance_payment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_finance_voucher_uploaded_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_voucher')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_finance_voucher_stored_name'))
    )
    with op.batch_alter_table('finance_voucher', schema=None) as batch_op:
        batch_op.create_index('ix_finance_voucher_payment', ['payment_id', 'id'], unique=False)

    _copy_order_payments()
    with op.batch_alter_table('sales_order_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_order_payment_order'))

    op.drop_table('sales_order_payment')
    _rename_permission('order.record_payment', ['finance.view', 'finance.collection.record', 'finance.collection.verify'])


def downgrade():
    op.create_table('sales_order_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
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
        batch_op.create_index(batch_op.f('ix_sales_order_payment_order'), ['order_id', 'id'], unique=False)

    with op.batch_alter_table('finance_voucher', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_voucher_payment')

    op.drop_table('finance_voucher')
    with op.batch_alter_table('finance_payment', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_payment_store')
        batch_op.drop_index('ix_finance_payment_status')
        batch_op.drop_index('ix_finance_payment_reference')
        batch_op.drop_index('ix_finance_payment_owner')
        batch_op.drop_index('ix_finance_payment_order')
        batch_op.drop_index('ix_finance_payment_customer')

    _copy_back()
    op.drop_table('finance_payment')
    _rename_permission('finance.collection.record', ['order.record_payment'])


METHODS = {'bank_transfer': ('bank', '银行', '对公', '转账', 'transfer'), 'alipay': ('alipay', '支付宝'),
           'wechat_pay': ('wechat', 'weixin', '微信'), 'cash': ('cash', '现金'),
           'platform_settlement': ('platform', '平台', 'settlement')}


def _method(text):
    lowered = (text or '').lower()
    for method, words in METHODS.items():
        if any(w in lowered for w in words):
            return method
    return 'other'


def _copy_order_payments():
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT p.id, p.order_id, p.store_id, p.kind, p.amount, p.method, p.reference, p.note, p.recorded_by_id, '
        'p.recorded_at, o.customer_id, o.owner_id FROM sales_order_payment p JOIN sales_order o ON o.id = p.order_id '
        'ORDER BY p.id')).mappings().all()
    payment = sa.table('finance_payment', *[sa.column(c) for c in (
        'store_id', 'order_id', 'customer_id', 'owner_id', 'direction', 'kind', 'status', 'amount', 'method', 'paid_on',
        'reference', 'note', 'recorded_by_id', 'recorded_at', 'decided_by_id', 'decided_at', 'lock_version')])
    values = []
    for r in rows:
        recorded_at = r['recorded_at']
        if isinstance(recorded_at, str):  # SQLite hands back text
            from datetime import datetime
            recorded_at = datetime.fromisoformat(recorded_at)
        refund = r['kind'] == 'refund'
        note = r['note'] if _method(r['method']) != 'other' or not r['method'] else \
            ' · '.join(x for x in (r['method'], r['note']) if x)[:500]
        values.append({
            'store_id': r['store_id'], 'order_id': r['order_id'], 'customer_id': r['customer_id'],
            'owner_id': r['owner_id'], 'direction': 'out' if refund else 'in', 'kind': r['kind'],
            'status': 'refunded' if refund else 'verified', 'amount': r['amount'], 'method': _method(r['method']),
            'paid_on': recorded_at.date(), 'reference': r['reference'], 'note': note,
            'recorded_by_id': r['recorded_by_id'], 'recorded_at': recorded_at, 'decided_by_id': r['recorded_by_id'],
            'decided_at': recorded_at, 'lock_version': 1})
    if values:
        op.bulk_insert(payment, values)


def _copy_back():
    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO sales_order_payment (order_id, store_id, kind, amount, method, reference, note, recorded_by_id, "
        "recorded_at) SELECT order_id, store_id, kind, amount, method, reference, note, recorded_by_id, recorded_at "
        "FROM finance_payment WHERE status IN ('verified', 'refunded') ORDER BY id"))


def _rename_permission(old, new):
    """Roles holding `old` hold `new` instead (and were offered it, so sync-roles does not ask again)."""
    import json

    bind = op.get_bind()
    for role_id, permissions, offered in bind.execute(sa.text('SELECT id, permissions, offered_permissions FROM role')):
        permissions = json.loads(permissions) if isinstance(permissions, str) else list(permissions or [])
        offered = json.loads(offered) if isinstance(offered, str) else list(offered or [])
        if old not in permissions and old not in offered:
            continue
        held = sorted((set(permissions) - {old}) | (set(new) if old in permissions else set()))
        seen = sorted((set(offered) - {old}) | set(new))
        bind.execute(sa.text('UPDATE role SET permissions = :p, offered_permissions = :o WHERE id = :id').bindparams(
            sa.bindparam('p', type_=JSON), sa.bindparam('o', type_=JSON)),
            {'p': held, 'o': seen, 'id': role_id})
