"""A store's quote letterhead and terms: `org_unit.quote_letterhead` and `org_unit.quote_terms`

The lines printed under a store's name on its quote PDFs (address, phone, bank account …) and the terms
printed at their end, edited on the store's page (Administration → Org units → Edit). Both nullable: a
store without them prints its shop name and no terms, as before.

Revision ID: 7c9e1a3f5b86
Revises: 1c3e5a7b9d20
Create Date: 2026-12-07 17:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '7c9e1a3f5b86'
down_revision = '1c3e5a7b9d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quote_letterhead', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('quote_terms', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_column('quote_terms')
        batch_op.drop_column('quote_letterhead')
