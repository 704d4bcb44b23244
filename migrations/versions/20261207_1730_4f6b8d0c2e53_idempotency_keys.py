"""Idempotent API writes and row-level import results

`idempotency_key` (user, key — unique together —, fingerprint of the request, the first answer's status,
content type and body, created_at): a POST sent again with the same `Idempotency-Key` within 24 hours
answers the stored result instead of writing twice; a job deletes older keys. `customer_import_job.skipped_rows`:
each skipped row of an import with its row number, reason and the existing customer it matched.

Revision ID: 4f6b8d0c2e53
Revises: 5a7c9e1d3f64
Create Date: 2026-12-07 17:30:00

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '4f6b8d0c2e53'
down_revision = '5a7c9e1d3f64'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_idempotency_key_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key'))
    )
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.create_index('uq_idempotency_key_user_key', ['user_id', 'key'], unique=True)
        batch_op.create_index(batch_op.f('ix_idempotency_key_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('customer_import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skipped_rows', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('customer_import_job', schema=None) as batch_op:
        batch_op.drop_column('skipped_rows')

    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_key_created_at'))
        batch_op.drop_index('uq_idempotency_key_user_key')
    op.drop_table('idempotency_key')
