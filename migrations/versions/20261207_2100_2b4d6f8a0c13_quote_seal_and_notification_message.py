"""A store's choice to print the seal area on its quote PDFs (`org_unit.quote_seal`), and a notification's
message as a catalogue key with its parameters (`notification.message`)

`org_unit.quote_seal`: whether the store's quote PDFs end with the boxes for the seller's and the
customer's seal and signature, edited with the letterhead and terms (Administration → Org units → Edit, and
the org-unit API). Every existing unit keeps printing it (true).

`notification.message`: the bell's title and body as message ids and parameters (`crm.core.i18n.frozen`),
rendered in the reader's language when shown. NULL for the notifications written before: those show their
stored text, recognised against the catalogue where it can be.

Revision ID: 2b4d6f8a0c13
Revises: 7c9e1a3f5b86
Create Date: 2026-12-07 21:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '2b4d6f8a0c13'
down_revision = '7c9e1a3f5b86'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quote_seal', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                        'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('message')
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_column('quote_seal')
