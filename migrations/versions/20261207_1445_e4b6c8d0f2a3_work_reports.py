"""Work reports, and the index of the one inbox's newest-first read of every open task in scope

`ix_human_task_created` (created_at, id): the inbox's "all in scope" page, newest first, reads it backwards
and stops at the page's end instead of sorting every open task of the scope.

Revision ID: e4b6c8d0f2a3
Revises: c5e1a7d93b46
Create Date: 2026-12-07 14:45:00

"""
from alembic import op
import sqlalchemy as sa  # noqa: F401
import crm.core.db  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'e4b6c8d0f2a3'
down_revision = 'c5e1a7d93b46'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_human_task_created', 'human_task', ['created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_human_task_created', table_name='human_task')
