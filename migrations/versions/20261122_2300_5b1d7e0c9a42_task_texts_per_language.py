"""Inbox tasks keep their title and instructions in the app's other languages

`human_task.texts` holds {"zh": {"title": …, "instructions": …}}: the task's title and instructions
rendered from the catalogue's translation of the BPMN template when the task opened
(`crm.workflow.i18n.rendered_texts`). `title` stays the source (English) text. Tasks opened before this
revision have none: `flask crm processes retranslate-tasks` renders them from their instances' state.

Revision ID: 5b1d7e0c9a42
Revises: 2f3ae8a1ce82
Create Date: 2026-11-22 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '5b1d7e0c9a42'
down_revision = '2f3ae8a1ce82'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('texts', JSON, nullable=True))


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('texts')
