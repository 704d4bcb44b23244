"""process admin: instance list indexes for starter and start date

The instance admin list filters by who started an instance and by start date, newest first (keyset on
id): one index for each. Everything else the process admin pages need already exists (definitions carry
source and comment; migration and repair events are process_event and operation_log rows).

Revision ID: 4aca7602840b
Revises: e65ae11f18e4
Create Date: 2026-11-22 10:23:56.014809

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4aca7602840b'
down_revision = 'e65ae11f18e4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_process_instance_started_at', ['started_at', 'id'], unique=False)
        batch_op.create_index('ix_process_instance_started_by', ['started_by_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instance_started_by')
        batch_op.drop_index('ix_process_instance_started_at')
