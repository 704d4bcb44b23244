"""product catalogue: categories, products and their pictures

Revision ID: c9d91d42de50
Revises: 2164a9c10127
Create Date: 2026-11-22 10:30:26.921671

"""
from alembic import op
import sqlalchemy as sa
import crm.core.db
from sqlalchemy import Text  # noqa: F401 — autogenerate writes JSONB(astext_type=Text())


# revision identifiers, used by Alembic.
revision = 'c9d91d42de50'
down_revision = '2164a9c10127'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['product_category.id'], name=op.f('fk_product_category_parent_id_product_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_category'))
    )
    with op.batch_alter_table('product_category', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_category_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_category_path'), ['path'], unique=False)

    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.String(length=100), nullable=True),
    sa.Column('material', sa.String(length=50), nullable=True),
    sa.Column('dynamic_load_kg', sa.Integer(), nullable=True),
    sa.Column('static_load_kg', sa.Integer(), nullable=True),
    sa.Column('racking_load_kg', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('list_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('cost_price', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('on_shelf', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['product_category.id'], name=op.f('fk_product_category_id_product_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('sku', name=op.f('uq_product_sku'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index('ix_product_category_name', ['category_id', 'name', 'id'], unique=False)
        batch_op.create_index('ix_product_shelf_name', ['on_shelf', 'name', 'id'], unique=False)

    op.create_table('product_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('stored_name', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_image_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_product_image_uploaded_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_image'))
    )
    with op.batch_alter_table('product_image', schema=None) as batch_op:
        batch_op.create_index('ix_product_image_product', ['product_id', 'position', 'id'], unique=False)

    _grant_default_roles()


# The default roles get the new permissions as crm.auth.defaults now gives them to new databases.
NEW_GRANTS = {
    "hq_manager": ["product.manage", "product.cost"],
    "admin": ["product.manage"],
    "subsidiary_manager": ["product.cost"],
    "store_manager": ["product.cost"],
    "finance": ["product.cost"],
}


def _grant_default_roles():
    role = sa.table("role", sa.column("id", sa.Integer), sa.column("key", sa.String),
                    sa.column("permissions", crm.core.db.JSONType))
    conn = op.get_bind()
    for row in conn.execute(sa.select(role.c.id, role.c.key, role.c.permissions).where(role.c.key.in_(NEW_GRANTS))):
        permissions = sorted(set(row.permissions or []) | set(NEW_GRANTS[row.key]))
        conn.execute(role.update().where(role.c.id == row.id).values(permissions=permissions))


def downgrade():
    with op.batch_alter_table('product_image', schema=None) as batch_op:
        batch_op.drop_index('ix_product_image_product')

    op.drop_table('product_image')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index('ix_product_shelf_name')
        batch_op.drop_index('ix_product_category_name')

    op.drop_table('product')
    with op.batch_alter_table('product_category', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_category_path'))
        batch_op.drop_index(batch_op.f('ix_product_category_parent_id'))

    op.drop_table('product_category')
    role = sa.table("role", sa.column("id", sa.Integer), sa.column("permissions", crm.core.db.JSONType))
    conn = op.get_bind()
    for row in conn.execute(sa.select(role.c.id, role.c.permissions)):
        kept = [p for p in (row.permissions or []) if not p.startswith("product.")]
        if kept != (row.permissions or []):
            conn.execute(role.update().where(role.c.id == row.id).values(permissions=kept))
