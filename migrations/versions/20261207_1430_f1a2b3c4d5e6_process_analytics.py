"""Process analytics: the indexes that read a version's passage through its diagram

The runtime now writes, with each step, rows of `process_event` for the elements the step reached, passed
or withdrew and the paths its gateways took (no new column: kinds `element_reached`, `element_passed`,
`element_withdrawn`, `flow_taken`). The analytics of a version read them for the version's instances started
in a period:
- `ix_process_instance_definition_started` (definition_id, started_at) finds those instances as one index
  range; it replaces the single-column index on definition_id, which it covers.
- `ix_process_event_kind` (instance_id, kind, task_guid) reads each instance's rows of one kind as one index
  range (an instance has a few dozen rows, most of other kinds) and answers "was this wait closed?" for the
  instances waiting now without reading their history.

Revision ID: f1a2b3c4d5e6
Revises: c5e1a7d93b46
Create Date: 2026-12-07 14:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5e6'
down_revision = 'c5e1a7d93b46'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_process_instance_definition_started', ['definition_id', 'started_at'], unique=False)
        batch_op.drop_index('ix_process_instance_definition_id')
    with op.batch_alter_table('process_event', schema=None) as batch_op:
        batch_op.create_index('ix_process_event_kind', ['instance_id', 'kind', 'task_guid'], unique=False)


def downgrade():
    with op.batch_alter_table('process_event', schema=None) as batch_op:
        batch_op.drop_index('ix_process_event_kind')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_process_instance_definition_id', ['definition_id'], unique=False)
        batch_op.drop_index('ix_process_instance_definition_started')
