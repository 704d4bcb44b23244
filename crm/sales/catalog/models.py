"""The product catalogue: categories (a tree) and products (SKU, specification, list and cost price,
on or off the shelf).

The catalogue is company master data, like the org tree: every store sells the same pallets, so
products carry no `store_id` and every signed-in user may read them (`product.manage` changes them,
`product.cost` shows cost price and margin). What a store actually charged lives on its quotes and
orders, which are store rows."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import TimestampMixin


class ProductCategory(Audited, TimestampMixin, Base):
    """A node of the category tree. `path` is the materialised path of ids (`/3/7/`), so "this category
    and everything below it" is one indexed LIKE, as for org units."""

    __tablename__ = "product_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("product_category.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500), default="/", index=True)
    depth: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)  # order among its siblings
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[ProductCategory | None] = relationship(remote_side=[id])

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def __repr__(self) -> str:
        return f"<ProductCategory {self.id} {self.name!r}>"


class Product(Audited, TimestampMixin, Base):
    __tablename__ = "product"
    __table_args__ = (
        Index("ix_product_shelf_name", "on_shelf", "name", "id"),
        Index("ix_product_category_name", "category_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(50), unique=True)  # stored upper-case: "PL-1210-A"
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("product_category.id"))
    # Specification: outer size, material, load capacities (dynamic on a forklift, static stacked,
    # on a rack) — what buyers of pallets compare.
    size: Mapped[str | None] = mapped_column(String(100))
    material: Mapped[str | None] = mapped_column(String(50))
    dynamic_load_kg: Mapped[int | None]
    static_load_kg: Mapped[int | None]
    racking_load_kg: Mapped[int | None]
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    list_price: Mapped[Decimal]
    cost_price: Mapped[Decimal | None]
    on_shelf: Mapped[bool] = mapped_column(default=True)  # only on-shelf products go into new quotes and orders
    description: Mapped[str | None] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(default=1)

    category: Mapped[ProductCategory | None] = relationship()
    images: Mapped[list[ProductImage]] = relationship(order_by="ProductImage.position, ProductImage.id",
                                                      cascade="all, delete-orphan", passive_deletes=True)

    __mapper_args__ = {"version_id_col": lock_version}
    __audit_exclude__ = frozenset({"created_at", "updated_at", "lock_version"})

    @property
    def margin(self) -> Decimal | None:
        """Gross margin of the list price, as a fraction (0.35 = 35 %); None without a cost price."""
        if self.cost_price is None or not self.list_price:
            return None
        return ((self.list_price - self.cost_price) / self.list_price).quantize(Decimal("0.0001"))

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.sku}>"


class ProductImage(Base):
    """A picture of a product (the file lies in the upload store, `crm.core.files`); the first one is the
    product's thumbnail."""

    __tablename__ = "product_image"
    __table_args__ = (Index("ix_product_image_product", "product_id", "position", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


MATERIALS = {
    "hdpe": _l("HDPE (high-density polyethylene)"),
    "pp": _l("PP (polypropylene)"),
    "recycled": _l("Recycled plastic"),
    "composite": _l("Plastic with steel reinforcement"),
}

# For the audit trail's field names.
FIELD_LABELS = {
    "sku": _l("SKU"),
    "name": _l("Name"),
    "category_id": _l("Category"),
    "size": _l("Size"),
    "material": _l("Material"),
    "dynamic_load_kg": _l("Dynamic load (kg)"),
    "static_load_kg": _l("Static load (kg)"),
    "racking_load_kg": _l("Racking load (kg)"),
    "unit": _l("Unit"),
    "list_price": _l("List price"),
    "cost_price": _l("Cost price"),
    "on_shelf": _l("On the shelf"),
    "description": _l("Description"),
}











def rate(price: Decimal | None, list_price: Decimal | None) -> Decimal | None:
    """price ÷ list price, exact to 6 places, rounded DOWN so that anything under 90 % stays under 90 %."""
    if price is None or not list_price:
        return None
    return (Decimal(price) / Decimal(list_price)).quantize(Decimal("0.000001"), rounding=ROUND_FLOOR)


class PricedLine:
    """A priced line of a product, for a store's customer (quote lines, order lines): the list and cost
    prices are copied from the product when the line is written, so later price changes never rewrite a
    quote or an order. Store and customer are denormalised from the parent so the price history is one
    indexed query that never crosses stores."""

    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    position: Mapped[int] = mapped_column(default=0)
    quantity: Mapped[int]
    list_price: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    cost_price: Mapped[Decimal | None]  # shown only to product.cost holders

    @declared_attr
    def product(cls) -> Mapped[Product]:  # noqa: N805 — declared_attr receives the mapped class
        return relationship(Product, viewonly=True)

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(Decimal("0.01"))

    @property
    def list_amount(self) -> Decimal:
        return (self.list_price * self.quantity).quantize(Decimal("0.01"))

    @property
    def discount_rate(self) -> Decimal | None:
        return rate(self.unit_price, self.list_price)
