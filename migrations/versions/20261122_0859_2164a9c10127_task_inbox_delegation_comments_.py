"""task inbox: delegation, comments, attachments, saved filters

human_task.delegated_by_id remembers who delegated a task to its assignee; task_comment and
task_attachment hold what people add to a task (attachment files live on disk under the upload folder,
the row keeps the original name, size, content type and uploader); saved_task_filter holds each user's
named inbox filters (a query string). The default supervisor and store manager roles of an existing
database get the new permission `task.reassign` (new databases get it from crm.auth.defaults).

Revision ID: 2164a9c10127
Revises: 9ebe832983b6
Create Date: 2026-11-22 08:59:55.599916

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())


# revision identifiers, used by Alembic.
revision = '2164a9c10127'
down_revision = '9ebe832983b6'
branch_labels = None
depends_on = None

NEW_PERMISSION = "task.reassign"
ROLES_GETTING_IT = ("supervisor", "store_manager")


def _role_table():
    return sa.table("role", sa.column("id", sa.Integer), sa.column("key", sa.String),
                    sa.column("permissions", sa.JSON))


def _set_permission(grant):
    role = _role_table()
    conn = op.get_bind()
    for role_id, permissions in conn.execute(sa.select(role.c.id, role.c.permissions).where(role.c.key.in_(ROLES_GETTING_IT))):
        current = list(permissions or [])
        changed = sorted({*current, NEW_PERMISSION}) if grant else [p for p in current if p != NEW_PERMISSION]
        if changed != current:
            conn.execute(role.update().where(role.c.id == role_id).values(permissions=changed))


def upgrade():
    op.create_table('saved_task_filter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', sa.String(length=1000), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_saved_task_filter_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_task_filter')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_saved_task_filter_user_id_name'))
    )
    with op.batch_alter_table('saved_task_filter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_task_filter_user_id'), ['user_id'], unique=False)

    op.create_table('task_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_attachment_instance_id_process_instance'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_task_attachment_task_id_human_task'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_task_attachment_uploaded_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_attachment')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_task_attachment_stored_name'))
    )
    with op.batch_alter_table('task_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_attachment_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_task_attachment_task', ['task_id', 'id'], unique=False)

    op.create_table('task_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_task_comment_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_comment_instance_id_process_instance'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_task_comment_task_id_human_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_comment'))
    )
    with op.batch_alter_table('task_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_comment_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_task_comment_task', ['task_id', 'id'], unique=False)

    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delegated_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_human_task_delegated_by_id_user'), 'user', ['delegated_by_id'], ['id'], ondelete='SET NULL')

    _set_permission(grant=True)



def downgrade():
    _set_permission(grant=False)
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_human_task_delegated_by_id_user'), type_='foreignkey')
        batch_op.drop_column('delegated_by_id')

    with op.batch_alter_table('task_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_task_comment_task')
        batch_op.drop_index(batch_op.f('ix_task_comment_instance_id'))

    op.drop_table('task_comment')
    with op.batch_alter_table('task_attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_task_attachment_task')
        batch_op.drop_index(batch_op.f('ix_task_attachment_instance_id'))

    op.drop_table('task_attachment')
    with op.batch_alter_table('saved_task_filter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_task_filter_user_id'))

    op.drop_table('saved_task_filter')
