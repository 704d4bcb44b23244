"""org tree, users, roles, api tokens, log-in throttle, operation log

The foundation schema: org units with materialised paths and cached store/subsidiary ids, users, roles
with their data scope and permissions, hashed API tokens, per-identifier log-in throttling, and the
operation log of typed field changes.

Revision ID: 227fe8623533
Revises: 
Create Date: 2026-11-22 08:02:40.292816

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '227fe8623533'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('identifier_hash', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('identifier_hash', name=op.f('pk_login_throttle'))
    )
    op.create_table('org_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('hq', 'subsidiary', 'store', 'department', name='unit_kind', native_enum=False, length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('subsidiary_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.Enum('tmall', 'jd', '1688', 'alibaba_com', 'pinduoduo', 'douyin', 'taobao', 'other', name='platform', native_enum=False, length=32), nullable=True),
    sa.Column('shop_name', sa.String(length=200), nullable=True),
    sa.Column('head_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['org_unit.id'], name=op.f('fk_org_unit_parent_id_org_unit')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_org_unit_store_id_org_unit')),
    sa.ForeignKeyConstraint(['subsidiary_id'], ['org_unit.id'], name=op.f('fk_org_unit_subsidiary_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_unit')),
    sa.UniqueConstraint('code', name=op.f('uq_org_unit_code'))
    )
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_unit_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_org_unit_path', ['path'], unique=False, postgresql_ops={'path': 'text_pattern_ops'})
        batch_op.create_index(batch_op.f('ix_org_unit_store_id'), ['store_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_unit_subsidiary_id'), ['subsidiary_id'], unique=False)

    op.create_table('role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('data_scope', sa.Enum('self', 'self_and_subordinates', 'department', 'department_tree', 'store', 'subsidiary', 'all', name='data_scope', native_enum=False, length=32), nullable=False),
    sa.Column('permissions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_system', sa.Boolean(), nullable=False),
    sa.Column('default_name', sa.String(length=80), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role')),
    sa.UniqueConstraint('key', name=op.f('uq_role_key'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('gender', sa.Enum('unspecified', 'male', 'female', name='gender', native_enum=False, length=32), nullable=False),
    sa.Column('position', sa.String(length=80), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('security_stamp', sa.String(length=32), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('last_login_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_user_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_user_store_id_org_unit')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['user.id'], name=op.f('fk_user_supervisor_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email')),
    sa.UniqueConstraint('mobile', name=op.f('uq_user_mobile'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_store_id'), ['store_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_supervisor_id'), ['supervisor_id'], unique=False)

    # org_unit.head_id -> user.id closes a cycle (users sit in units), so it is added once both exist.
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_org_unit_head_id_user'), 'user', ['head_id'], ['id'], ondelete='SET NULL')

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_api_token_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('operation_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_operation_log_actor_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operation_log'))
    )
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operation_log_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_operation_log_object', ['object_type', 'object_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_log_store_id'), ['store_id'], unique=False)

    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_user_role_role_id_role'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_role_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_role'))
    )
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_role_role_id'), ['role_id'], unique=False)



def downgrade():
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_role_role_id'))

    op.drop_table('user_role')
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operation_log_store_id'))
        batch_op.drop_index('ix_operation_log_object')
        batch_op.drop_index(batch_op.f('ix_operation_log_actor_id'))

    op.drop_table('operation_log')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_user_store_id'))
        batch_op.drop_index(batch_op.f('ix_user_org_unit_id'))

    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_org_unit_head_id_user'), type_='foreignkey')
    op.drop_table('user')
    op.drop_table('role')
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_unit_subsidiary_id'))
        batch_op.drop_index(batch_op.f('ix_org_unit_store_id'))
        batch_op.drop_index('ix_org_unit_path', postgresql_ops={'path': 'text_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_org_unit_parent_id'))

    op.drop_table('org_unit')
    op.drop_table('login_throttle')
