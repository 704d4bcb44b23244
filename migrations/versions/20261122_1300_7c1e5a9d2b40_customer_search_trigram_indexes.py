"""Customer search: pg_trgm GIN indexes on name and company (PostgreSQL only)

The customer list's search box is a contains search (name or company ILIKE '%x%'); without these indexes
PostgreSQL scans the store's (or the whole) customer table. SQLite has no equivalent: nothing happens there.
The extension goes into the `public` schema (see crm.core.db.TRIGRAM_SCHEMA) unless it is already
installed elsewhere, in which case that schema's operator class is used. The downgrade keeps the
extension (other objects may use it).

Revision ID: 7c1e5a9d2b40
Revises: 3d94cf92f76b
Create Date: 2026-11-22 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e5a9d2b40'
down_revision = '3d94cf92f76b'
branch_labels = None
depends_on = None

INDEXES = {"ix_customer_name_trgm": "name", "ix_customer_company_trgm": "company"}


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    schema = bind.scalar(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ))
    for name, column in INDEXES.items():
        op.create_index(name, "customer", [column], postgresql_using="gin",
                        postgresql_ops={column: f'"{schema}".gin_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.drop_index(name, table_name="customer")
