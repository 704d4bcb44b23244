"""High seas: pools, members, moves with reasons, claim applications, reminders

Revision ID: 3d94cf92f76b
Revises: 0256ad40c382
Create Date: 2026-11-22 11:32:00.703151

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())


# revision identifiers, used by Alembic.
revision = '3d94cf92f76b'
down_revision = '0256ad40c382'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('highseas_pool',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('auto_recycle', sa.Boolean(), nullable=False),
    sa.Column('follow_up_days', sa.Integer(), nullable=True),
    sa.Column('deal_days', sa.Integer(), nullable=True),
    sa.Column('level_days', sa.JSON(), nullable=False),
    sa.Column('exempt_won', sa.Boolean(), nullable=False),
    sa.Column('exempt_open_opportunity', sa.Boolean(), nullable=False),
    sa.Column('remind_days', sa.Integer(), nullable=True),
    sa.Column('cooldown_days', sa.Integer(), nullable=False),
    sa.Column('daily_claim_quota', sa.Integer(), nullable=True),
    sa.Column('max_owned', sa.Integer(), nullable=True),
    sa.Column('max_locked', sa.Integer(), nullable=True),
    sa.Column('won_counts', sa.Boolean(), nullable=False),
    sa.Column('return_visit_days', sa.Integer(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_highseas_pool_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_highseas_pool'))
    )
    with op.batch_alter_table('highseas_pool', schema=None) as batch_op:
        batch_op.create_index('uq_highseas_pool_store', ['store_id'], unique=True)

    op.create_table('highseas_pool_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('member', 'admin', name='highseas_pool_role', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['highseas_pool.id'], name=op.f('fk_highseas_pool_member_pool_id_highseas_pool'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_highseas_pool_member_store_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_highseas_pool_member_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_highseas_pool_member'))
    )
    with op.batch_alter_table('highseas_pool_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_highseas_pool_member_store_id'), ['store_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_highseas_pool_member_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_highseas_pool_member', ['pool_id', 'user_id'], unique=True)

    op.create_table('highseas_move',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('recycled', 'released', 'claimed', 'assigned', 'returned', name='highseas_move_kind', native_enum=False, length=32), nullable=False),
    sa.Column('from_owner_id', sa.Integer(), nullable=True),
    sa.Column('to_owner_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_highseas_move_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_highseas_move_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_owner_id'], ['user.id'], name=op.f('fk_highseas_move_from_owner_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_highseas_move_store_id_org_unit')),
    sa.ForeignKeyConstraint(['to_owner_id'], ['user.id'], name=op.f('fk_highseas_move_to_owner_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_highseas_move'))
    )
    with op.batch_alter_table('highseas_move', schema=None) as batch_op:
        batch_op.create_index('ix_highseas_move_customer', ['customer_id', 'at', 'id'], unique=False)
        batch_op.create_index('ix_highseas_move_from', ['from_owner_id', 'customer_id', 'at'], unique=False)
        batch_op.create_index('ix_highseas_move_store_at', ['store_id', 'at', 'id'], unique=False)

    op.create_table('highseas_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.String(length=10), nullable=False),
    sa.Column('sent_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_highseas_reminder_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_highseas_reminder_owner_id_user')),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_highseas_reminder_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_highseas_reminder'))
    )
    with op.batch_alter_table('highseas_reminder', schema=None) as batch_op:
        batch_op.create_index('uq_highseas_reminder', ['customer_id', 'owner_id', 'due_on'], unique=True)

    op.create_table('highseas_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('former_owner_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Enum('pending', 'visiting', 'kept', 'returned', 'rejected', name='highseas_claim_status', native_enum=False, length=32), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('visit_due_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['applicant_id'], ['user.id'], name=op.f('fk_highseas_claim_applicant_id_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_highseas_claim_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['former_owner_id'], ['user.id'], name=op.f('fk_highseas_claim_former_owner_id_user')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_highseas_claim_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['org_unit.id'], name=op.f('fk_highseas_claim_store_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_highseas_claim'))
    )
    with op.batch_alter_table('highseas_claim', schema=None) as batch_op:
        batch_op.create_index('ix_highseas_claim_applicant', ['applicant_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_highseas_claim_store', ['store_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index('uq_highseas_claim_open', ['customer_id'], unique=True, sqlite_where=sa.text("status IN ('pending', 'visiting')"), postgresql_where=sa.text("status IN ('pending', 'visiting')"))



def downgrade():
    with op.batch_alter_table('highseas_claim', schema=None) as batch_op:
        batch_op.drop_index('uq_highseas_claim_open', sqlite_where=sa.text("status IN ('pending', 'visiting')"), postgresql_where=sa.text("status IN ('pending', 'visiting')"))
        batch_op.drop_index('ix_highseas_claim_store')
        batch_op.drop_index('ix_highseas_claim_applicant')

    op.drop_table('highseas_claim')
    with op.batch_alter_table('highseas_reminder', schema=None) as batch_op:
        batch_op.drop_index('uq_highseas_reminder')

    op.drop_table('highseas_reminder')
    with op.batch_alter_table('highseas_move', schema=None) as batch_op:
        batch_op.drop_index('ix_highseas_move_store_at')
        batch_op.drop_index('ix_highseas_move_from')
        batch_op.drop_index('ix_highseas_move_customer')

    op.drop_table('highseas_move')
    with op.batch_alter_table('highseas_pool_member', schema=None) as batch_op:
        batch_op.drop_index('uq_highseas_pool_member')
        batch_op.drop_index(batch_op.f('ix_highseas_pool_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_highseas_pool_member_store_id'))

    op.drop_table('highseas_pool_member')
    with op.batch_alter_table('highseas_pool', schema=None) as batch_op:
        batch_op.drop_index('uq_highseas_pool_store')

    op.drop_table('highseas_pool')
