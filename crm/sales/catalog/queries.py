"""Reads of the product catalogue: the filtered, keyset-paged product list, the category tree, lookups
and export rows. The catalogue is company master data (see `crm.sales.catalog.models`): every signed-in user
reads it, so there is no data-scope clause here; cost prices are left out by the callers for users
without `product.cost`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.core.errors import NotFound
from crm.core.files import stored_path
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.core.validation import as_id
from crm.extensions import db
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import ProductCategory
from crm.sales.catalog.models import ProductImage

SORTS = {
    "name": (SortKey(Product.name), SortKey(Product.id)),
    "sku": (SortKey(Product.sku),),
    "price_asc": (SortKey(Product.list_price), SortKey(Product.id)),
    "price_desc": (SortKey(Product.list_price, descending=True), SortKey(Product.id, descending=True)),
    "newest": (SortKey(Product.id, descending=True),),
}


@dataclass
class ProductFilters:
    q: str = ""  # part of the name or the SKU
    category: ProductCategory | None = None  # with its sub-categories
    shelf: str = "on"  # on | off | all
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    material: str | None = None
    sort: str = "name"

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.category or self.shelf != "on" or self.min_price is not None
                    or self.max_price is not None or self.material)

    def query_args(self) -> dict[str, Any]:
        args = {"q": self.q, "category_id": self.category.id if self.category else None,
                "shelf": self.shelf if self.shelf != "on" else None, "min_price": self.min_price,
                "max_price": self.max_price, "material": self.material,
                "sort": self.sort if self.sort != "name" else None}
        return {k: v for k, v in args.items() if v not in (None, "")}


def _filtered(filters: ProductFilters) -> Any:
    stmt = select(Product)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(or_(func.lower(Product.name).like(like), Product.sku.like(f"%{filters.q.upper()}%")))
    if filters.category is not None:
        below = select(ProductCategory.id).where(ProductCategory.path.like(f"{filters.category.path}%"))
        stmt = stmt.where(Product.category_id.in_(below))
    if filters.shelf in ("on", "off"):
        stmt = stmt.where(Product.on_shelf.is_(filters.shelf == "on"))
    if filters.min_price is not None:
        stmt = stmt.where(Product.list_price >= filters.min_price)
    if filters.max_price is not None:
        stmt = stmt.where(Product.list_price <= filters.max_price)
    if filters.material:
        stmt = stmt.where(Product.material == filters.material)
    return stmt


def list_products(filters: ProductFilters, cursor: str | None, limit: int) -> Page[Product]:
    return keyset_page(db.session, _filtered(filters), SORTS.get(filters.sort, SORTS["name"]), cursor=cursor,
                       limit=limit)


def export_rows(filters: ProductFilters, *, batch: int = 1000) -> Iterator[Product]:
    """Every product matching the filters, in name order, read in batches (no page size cap)."""
    page = list_products(filters, None, batch)
    while True:
        yield from page.items
        if not page.next_cursor:
            return
        page = list_products(filters, page.next_cursor, batch)


def get_product(product_id: Any) -> Product:
    product = db.session.get(Product, as_id(product_id))
    if product is None:
        raise NotFound()
    return product


def get_category(category_id: Any) -> ProductCategory:
    category = db.session.get(ProductCategory, as_id(category_id))
    if category is None:
        raise NotFound()
    return category


@dataclass
class CategoryRow:
    category: ProductCategory
    indent: int
    products: int = 0  # products directly in it
    products_total: int = 0  # in it and below


def category_tree(*, active_only: bool = False) -> list[CategoryRow]:
    """Every category depth first (siblings by position, then name) with product counts."""
    stmt = select(ProductCategory)
    if active_only:
        stmt = stmt.where(ProductCategory.active)
    categories = list(db.session.scalars(stmt))
    by_parent: dict[int | None, list[ProductCategory]] = {}
    for c in categories:
        by_parent.setdefault(c.parent_id, []).append(c)
    counts = dict(db.session.execute(
        select(Product.category_id, func.count()).where(Product.category_id.is_not(None)).group_by(Product.category_id)
    ).all())
    known = {c.id for c in categories}
    rows: list[CategoryRow] = []

    def walk(parent_id: int | None, indent: int) -> int:
        total = 0
        for c in sorted(by_parent.get(parent_id, []), key=lambda c: (c.position, c.name.lower(), c.id)):
            row = CategoryRow(c, indent, int(counts.get(c.id, 0)))
            rows.append(row)
            row.products_total = row.products + walk(c.id, indent + 1)
            total += row.products_total
        return total

    walk(None, 0)
    # Categories whose parent is filtered out (inactive parents with active_only) hang at the top.
    for c in categories:
        if c.parent_id is not None and c.parent_id not in known and all(r.category is not c for r in rows):
            rows.append(CategoryRow(c, 0, int(counts.get(c.id, 0))))
    return rows


INDENT = "\u2003"


def category_choices(*, active_only: bool = True) -> list[tuple[int, str]]:
    """(id, indented name) for selects, depth first."""
    return [(r.category.id, INDENT * r.indent + r.category.name) for r in category_tree(active_only=active_only)]


def category_names(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(ProductCategory.id, ProductCategory.name).where(ProductCategory.id.in_(ids))).all())


def on_shelf_products(ids: set[int]) -> dict[int, Product]:
    """The on-shelf products among `ids` (what new quotes and orders may use)."""
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids), Product.on_shelf))}


def covers(product_ids: list[int]) -> dict[int, int]:
    """product id -> id of its first picture, for a page of products (one query)."""
    if not product_ids:
        return {}
    first = (select(ProductImage.product_id, func.min(ProductImage.position).label("p"))
             .where(ProductImage.product_id.in_(product_ids)).group_by(ProductImage.product_id).subquery())
    stmt = (select(ProductImage.product_id, func.min(ProductImage.id))
            .join(first, (first.c.product_id == ProductImage.product_id) & (first.c.p == ProductImage.position))
            .group_by(ProductImage.product_id))
    return {int(p): int(i) for p, i in db.session.execute(stmt)}


def get_image(product_id: Any, image_id: Any) -> tuple[ProductImage, Any]:
    """(image, file path) of a picture of that product; NotFound otherwise."""
    image = db.session.get(ProductImage, as_id(image_id))
    if image is None or image.product_id != as_id(product_id):
        raise NotFound()
    return image, stored_path(image.stored_name)


SEARCH_LIMIT = 50


def search_on_shelf(q: str, limit: int = 20) -> list[Product]:
    """On-shelf products whose name, SKU or size holds `q` (the pickers of the quote and order forms ask
    this as the user types: one indexed-size query with a limit, whatever the catalogue's size)."""
    limit = max(1, min(limit, SEARCH_LIMIT))
    stmt = select(Product).where(Product.on_shelf.is_(True))
    q = (q or "").strip()[:100]
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Product.name).like(like), Product.sku.like(f"%{q.upper()}%"),
                              func.lower(Product.size).like(like)))
    return list(db.session.scalars(stmt.order_by(Product.name, Product.id).limit(limit)))


def by_ids(ids: set[int]) -> dict[int, Product]:
    """Products by id, on the shelf or not (a draft's lines show what they hold)."""
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
