"""Built-in roles remember which default permissions they were offered

`role.offered_permissions` lists the default permissions a release has offered a built-in role, granted
or declined. `crm.auth.defaults.apply_defaults` (the Roles page, `POST /api/v1/roles/defaults`,
`flask crm sync-roles`) grants a later release's new defaults once and never again, so a permission an
admin took away stays away.

Back-fill: what a role holds now counts as offered, and so do the defaults of its key from before the
orders release. The orders release's defaults (`order.*`) count as offered only where the role already
holds one of them (created with them, or granted by hand): a database from before orders is offered them
once. Custom roles (no `default_name`) are never offered anything.

Revision ID: 2f3ae8a1ce82
Revises: 3000d00be3a4
Create Date: 2026-11-22 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '2f3ae8a1ce82'
down_revision = '3000d00be3a4'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# The default permissions of each built-in role as the orders release shipped them (a snapshot: the
# migration must not change when crm/auth/defaults.py does).
_ORDERS = {"order.view", "order.create", "order.cancel", "order.export", "order.record_payment"}
_DEFAULTS = {
    "hq_manager": ["org.view", "user.view", "audit.view", "api.use", "product.manage", "product.cost",
                   "approval.view_all", "announcement.publish", "customer.view", "customer.export", "quote.view",
                   "opportunity.view", "order.view", "order.export"],
    "subsidiary_manager": ["org.view", "user.view", "audit.view", "product.cost", "approval.view_all",
                           "announcement.publish", "customer.view", "customer.export", "quote.view",
                           "opportunity.view", "order.view", "order.export"],
    "store_manager": ["org.view", "user.view", "user.manage", "audit.view", "task.reassign", "product.cost",
                      "approval.view_all", "announcement.publish", "customer.view", "customer.create",
                      "customer.edit", "customer.transfer", "customer.lock", "customer.import", "customer.export",
                      "customer.merge", "lead.manage", "quote.view", "quote.edit", "opportunity.view",
                      "opportunity.edit", "pipeline.manage", "order.view", "order.create", "order.cancel",
                      "order.export", "highseas.view", "highseas.assign", "highseas.configure"],
    "supervisor": ["user.view", "audit.view", "task.reassign", "customer.view", "customer.create", "customer.edit",
                   "customer.transfer", "customer.lock", "customer.export", "quote.view", "quote.edit",
                   "opportunity.view", "opportunity.edit", "order.view", "order.create", "order.cancel",
                   "highseas.view", "highseas.assign"],
    "salesperson": ["customer.view", "customer.create", "customer.edit", "customer.lock", "quote.view", "quote.edit",
                    "opportunity.view", "opportunity.edit", "highseas.view", "order.view", "order.create",
                    "order.cancel"],
    "finance": ["audit.view", "product.cost", "customer.view", "quote.view", "opportunity.view", "order.view",
                "order.export", "order.record_payment"],
    "warehouse": ["order.view"],
    "logistics": ["order.view"],
    "process_owner": ["process.deploy", "process.admin", "audit.view"],
    "admin": ["org.view", "org.manage", "user.view", "user.manage", "role.manage", "audit.view", "api.use",
              "product.manage", "approval.configure", "customer.view", "customer.import", "customer.export",
              "customer.merge", "lead.manage", "pipeline.manage", "highseas.configure"],
}


def _offered(key, default_name, is_system, permissions):
    held = set(permissions or [])
    if default_name is None:
        return []  # a custom role
    if is_system:
        return sorted(held)  # the super admin role holds every permission there was
    defaults = set(_DEFAULTS.get(key, []))
    offered = held | (defaults - _ORDERS)
    if held & _ORDERS:
        offered |= defaults
    return sorted(offered)


def upgrade():
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offered_permissions', JSON, nullable=True))
    role = sa.table('role', sa.column('id', sa.Integer), sa.column('key', sa.String),
                    sa.column('default_name', sa.String), sa.column('is_system', sa.Boolean),
                    sa.column('permissions', JSON), sa.column('offered_permissions', JSON))
    conn = op.get_bind()
    for row in conn.execute(sa.select(role.c.id, role.c.key, role.c.default_name, role.c.is_system,
                                      role.c.permissions)).all():
        conn.execute(role.update().where(role.c.id == row.id).values(
            offered_permissions=_offered(row.key, row.default_name, row.is_system, row.permissions)))
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.alter_column('offered_permissions', existing_type=JSON, nullable=False)


def downgrade():
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.drop_column('offered_permissions')
