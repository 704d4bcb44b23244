"""Process drafts: a diagram saved in the editor, validated, not current (one per process)

Revision ID: a7b9c1d3e5f7
Revises: e2f4a6c8d0b1
Create Date: 2026-12-07 14:15:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import crm.core.db


# revision identifiers, used by Alembic.
revision = 'a7b9c1d3e5f7'
down_revision = 'e2f4a6c8d0b1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('process_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=True),
    sa.Column('problems', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('based_on_version', sa.Integer(), nullable=True),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('saved_at', crm.core.db.UTCDateTime(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['saved_by_id'], ['user.id'], name=op.f('fk_process_draft_saved_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_draft')),
    sa.UniqueConstraint('key', name=op.f('uq_process_draft_key'))
    )


def downgrade():
    op.drop_table('process_draft')
