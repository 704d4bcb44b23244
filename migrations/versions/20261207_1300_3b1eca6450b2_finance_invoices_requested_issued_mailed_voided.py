"""Invoices: requested on quotes and orders, issued or rejected by finance, mailed, voided

`finance_invoice` holds every invoice a salesperson asked finance for (`invoice_request.bpmn`): of an
order, or of an approved quote without an order yet; the order's (quote's) store, customer and
salesperson copied in for the list; what was asked (type, title, taxpayer number, amount, e-mail or
mailing address), how finance issued it (number, date, amount, file) or why it refused, how a paper one
was mailed, and why it was voided. Roles that could flag a quote's "invoice requested" (`quote.edit`)
may request invoices (`finance.invoice.request`).

Revision ID: 3b1eca6450b2
Revises: 6724055feaa0
Create Date: 2026-12-07 12:36:28.089465

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy.dialects import postgresql


JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
INVOICE_PERMISSIONS = {'finance.invoice.request', 'finance.invoice.issue', 'finance.invoice.mail'}


# revision identifiers, used by Alembic.
revision = '3b1eca6450b2'
down_revision = '6724055feaa0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('finance_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.Enum('vat_general', 'vat_special', 'electronic', 'paper', name='finance_invoice_type', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('requested', 'issued', 'rejected', 'mailed', 'voided', name='finance_invoice_status', native_enum=False, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('taxpayer_no', sa.String(length=20), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('mailing_address', sa.String(length=500), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('invoice_no', sa.String(length=50), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('file_stored_name', sa.String(length=100), nullable=True),
    sa.Column('file_original_name', sa.String(length=255), nullable=True),
    sa.Column('file_content_type', sa.String(length=100), nullable=True),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('tracking_no', sa.String(length=100), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('void_reason', sa.String(length=500), nullable=True),
    sa.Column('requested_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mailed_by_id', sa.Integer(), nullable=True),
    sa.Column('mailed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_finance_invoice_customer_id_customer')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_finance_invoice_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mailed_by_id'], ['user.id'], name=op.f('fk_finance_invoice_mailed_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_finance_invoice_order_id_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_finance_invoice_owner_id_user')),
    sa.ForeignKeyConstraint(['quote_id'], ['quote.id'], name=op.f('fk_finance_invoice_quote_id_quote'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_finance_invoice_requested_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_finance_invoice_store_id_org_unit')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['user.id'], name=op.f('fk_finance_invoice_voided_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_invoice'))
    )
    with op.batch_alter_table('finance_invoice', schema=None) as batch_op:
        batch_op.create_index('ix_finance_invoice_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_invoice_no', ['store_id', 'invoice_no'], unique=False)
        batch_op.create_index('ix_finance_invoice_order', ['order_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_invoice_owner', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_invoice_quote', ['quote_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_invoice_status', ['status', 'store_id', 'id'], unique=False)
        batch_op.create_index('ix_finance_invoice_store', ['store_id', 'id'], unique=False)

    _update_roles(lambda held, offered: (held | {'finance.invoice.request'} if 'quote.edit' in held else held, offered))


def downgrade():
    _update_roles(lambda held, offered: (held - INVOICE_PERMISSIONS, offered - INVOICE_PERMISSIONS))
    with op.batch_alter_table('finance_invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_invoice_store')
        batch_op.drop_index('ix_finance_invoice_status')
        batch_op.drop_index('ix_finance_invoice_quote')
        batch_op.drop_index('ix_finance_invoice_owner')
        batch_op.drop_index('ix_finance_invoice_order')
        batch_op.drop_index('ix_finance_invoice_no')
        batch_op.drop_index('ix_finance_invoice_customer')

    op.drop_table('finance_invoice')


def _update_roles(change):
    """Each role's held and offered permissions through `change(held, offered) -> (held, offered)`."""
    import json

    bind = op.get_bind()
    for role_id, permissions, offered in bind.execute(sa.text('SELECT id, permissions, offered_permissions FROM role')):
        permissions = set(json.loads(permissions) if isinstance(permissions, str) else list(permissions or []))
        offered = set(json.loads(offered) if isinstance(offered, str) else list(offered or []))
        held, seen = change(permissions, offered)
        if held == permissions and seen == offered:
            continue
        bind.execute(sa.text('UPDATE role SET permissions = :p, offered_permissions = :o WHERE id = :id').bindparams(
            sa.bindparam('p', type_=JSON), sa.bindparam('o', type_=JSON)),
            {'p': sorted(held), 'o': sorted(seen), 'id': role_id})
