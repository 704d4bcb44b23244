"""Due dates on every user task: the reminder and escalation marks of `human_task`

`remind_at` (the reminder still to send), `reminded_at` (when it went out), `escalate_at` (the next
escalation still to send), `escalation_level` (how many went out), `due_policy` (the element's lead,
escalation role and delay, JSON), with an index on each of the two times the due-date job scans.

Revision ID: 3e5a7c9b1d42
Revises: 9d1f3b5a7c08
Create Date: 2026-12-07 17:20:00

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '3e5a7c9b1d42'
down_revision = '9d1f3b5a7c08'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remind_at', crm.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', crm.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalate_at', crm.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('due_policy', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'),
                                      nullable=True))
        batch_op.create_index('ix_human_task_remind_at', ['remind_at'], unique=False)
        batch_op.create_index('ix_human_task_escalate_at', ['escalate_at'], unique=False)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_escalate_at')
        batch_op.drop_index('ix_human_task_remind_at')
        batch_op.drop_column('due_policy')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('escalate_at')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('remind_at')
