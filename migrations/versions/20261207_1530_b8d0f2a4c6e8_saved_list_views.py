"""Saved list views for every list: `saved_view` replaces `customer_saved_view`

`saved_view` (user, list_key — "customers", "aftersales_cases", ... —, name, query, columns, created_at;
unique per user, list and name). The customers' saved views move into it under list_key "customers" with
their ids (so bookmarked /customers?view_id=N links keep working); `customer_saved_view` is dropped. The
downgrade brings the customers' views back and drops the other lists' views.

Revision ID: b8d0f2a4c6e8
Revises: e4b6c8d0f2a3
Create Date: 2026-12-07 15:30:00

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'b8d0f2a4c6e8'
down_revision = 'e4b6c8d0f2a3'
branch_labels = None
depends_on = None

COLUMNS = "id, user_id, name, query, columns, created_at"


def _reset_sequence(table):
    """PostgreSQL: the id sequence continues after the copied ids."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


def upgrade():
    op.create_table('saved_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('list_key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=False),
    sa.Column('columns', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_saved_view_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_view'))
    )
    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.create_index('uq_saved_view_user_list_name', ['user_id', 'list_key', 'name'], unique=True)

    op.execute(f"INSERT INTO saved_view ({COLUMNS}, list_key) "
               f"SELECT {COLUMNS}, 'customers' FROM customer_saved_view")
    _reset_sequence('saved_view')

    with op.batch_alter_table('customer_saved_view', schema=None) as batch_op:
        batch_op.drop_index('uq_customer_saved_view_user_name')
    op.drop_table('customer_saved_view')


def downgrade():
    op.create_table('customer_saved_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=False),
    sa.Column('columns', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_customer_saved_view_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_saved_view'))
    )
    with op.batch_alter_table('customer_saved_view', schema=None) as batch_op:
        batch_op.create_index('uq_customer_saved_view_user_name', ['user_id', 'name'], unique=True)

    op.execute(f"INSERT INTO customer_saved_view ({COLUMNS}) "
               f"SELECT {COLUMNS} FROM saved_view WHERE list_key = 'customers'")
    _reset_sequence('customer_saved_view')

    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.drop_index('uq_saved_view_user_list_name')
    op.drop_table('saved_view')
