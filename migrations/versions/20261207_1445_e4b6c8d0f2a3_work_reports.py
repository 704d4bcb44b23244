"""Work reports, and the index of the one inbox's newest-first read of every open task in scope

`work_report` (author, their unit and store, kind — daily, weekly, monthly —, the period's first and last
day, unique per author, kind and period; done, plan, problems, notes; the period's figures as filed),
`work_report_recipient` (the supervisor and the colleagues chosen; `read_at` is the read receipt),
`work_report_comment`, `work_report_reminder` (one reminder per person and day).

`ix_human_task_created` (created_at, id): the inbox's "all in scope" page, newest first, reads it backwards
and stops at the page's end instead of sorting every open task of the scope.

Revision ID: e4b6c8d0f2a3
Revises: d3a5b7c9e1f2
Create Date: 2026-12-07 14:45:00

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'e4b6c8d0f2a3'
down_revision = 'd3a5b7c9e1f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('work_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('daily', 'weekly', 'monthly', name='work_report_kind', native_enum=False, length=32), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('done', sa.Text(), nullable=True),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('problems', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('submitted_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_work_report_author_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_work_report_store_id_org_unit')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_work_report_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_report')),
    sa.UniqueConstraint('author_id', 'kind', 'period_start', name=op.f('uq_work_report_author_id_kind_period_start'))
    )
    with op.batch_alter_table('work_report', schema=None) as batch_op:
        batch_op.create_index('ix_work_report_author', ['author_id', 'period_start', 'id'], unique=False)
        batch_op.create_index('ix_work_report_period', ['kind', 'period_start', 'author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_report_store_id'), ['store_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_report_unit_id'), ['unit_id'], unique=False)

    op.create_table('work_report_recipient',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['work_report.id'], name=op.f('fk_work_report_recipient_report_id_work_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_work_report_recipient_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'user_id', name=op.f('pk_work_report_recipient'))
    )
    with op.batch_alter_table('work_report_recipient', schema=None) as batch_op:
        batch_op.create_index('ix_work_report_recipient_user', ['user_id', 'report_id'], unique=False)

    op.create_table('work_report_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_work_report_comment_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['work_report.id'], name=op.f('fk_work_report_comment_report_id_work_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_report_comment'))
    )
    with op.batch_alter_table('work_report_comment', schema=None) as batch_op:
        batch_op.create_index('ix_work_report_comment_report', ['report_id', 'id'], unique=False)

    op.create_table('work_report_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_work_report_reminder_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_report_reminder')),
    sa.UniqueConstraint('user_id', 'day', name=op.f('uq_work_report_reminder_user_id_day'))
    )

    op.create_index('ix_human_task_created', 'human_task', ['created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_human_task_created', table_name='human_task')
    op.drop_table('work_report_reminder')
    with op.batch_alter_table('work_report_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_work_report_comment_report')
    op.drop_table('work_report_comment')
    with op.batch_alter_table('work_report_recipient', schema=None) as batch_op:
        batch_op.drop_index('ix_work_report_recipient_user')
    op.drop_table('work_report_recipient')
    with op.batch_alter_table('work_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_report_unit_id'))
        batch_op.drop_index(batch_op.f('ix_work_report_store_id'))
        batch_op.drop_index('ix_work_report_period')
        batch_op.drop_index('ix_work_report_author')
    op.drop_table('work_report')
