"""Changes to the product catalogue. Every function takes the acting user, checks `product.manage`,
validates everything before writing anything (all field errors at once), flushes and never commits."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import IO
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select

from crm.core import files
from crm.core import tabular
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import as_id
from crm.core.validation import check_text
from crm.core.validation import load_input
from crm.extensions import db
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import ProductCategory
from crm.sales.catalog.models import ProductImage
from crm.sales.catalog.schemas import ProductInput
from crm.sales.catalog.schemas import normalise_sku

MAX_CATEGORY_DEPTH = 5


def _require_manage(actor: User) -> None:
    if not actor.can("product.manage"):
        raise PermissionDenied(_l("You may not change the product catalogue."))


# Categories -------------------------------------------------------------------------------------------------
def _category_fields(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    name = check_text(data.get("name"), errors, "name", max_length=100)
    position_raw = data.get("position")
    position = 0
    if position_raw not in (None, ""):
        try:
            position = int(str(position_raw).strip())
            if not -10_000 <= position <= 10_000:
                raise ValueError
        except ValueError:
            errors["position"] = str(_l("Enter a whole number between -10000 and 10000."))
    return {"name": name, "position": position}


def _parent(raw: Any, errors: dict[str, str], *, moving: ProductCategory | None = None) -> ProductCategory | None:
    if raw in (None, ""):
        return None
    parent = db.session.get(ProductCategory, as_id(raw))
    if parent is None:
        errors["parent_id"] = str(_l("Choose an existing category."))
        return None
    if not parent.active:
        errors["parent_id"] = str(_l("The parent category is deactivated."))
    elif moving is not None and (parent.id == moving.id or moving.id in parent.ancestor_ids):
        errors["parent_id"] = str(_l("A category cannot move under itself or one of its sub-categories."))
    elif parent.depth + 1 >= MAX_CATEGORY_DEPTH:
        errors["parent_id"] = str(_l("Categories nest at most %(n)d levels deep.", n=MAX_CATEGORY_DEPTH))
    return parent


def _check_name_free(name: str, parent_id: int | None, errors: dict[str, str], exclude_id: int | None = None) -> None:
    if not name or "name" in errors:
        return
    stmt = select(ProductCategory.id).where(func.lower(ProductCategory.name) == name.lower(),
                                            ProductCategory.parent_id.is_(None) if parent_id is None
                                            else ProductCategory.parent_id == parent_id)
    if exclude_id is not None:
        stmt = stmt.where(ProductCategory.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        errors["name"] = str(_l("There is already a category “%(name)s” here.", name=name))


def create_category(data: dict[str, Any], *, actor: User) -> ProductCategory:
    _require_manage(actor)
    errors: dict[str, str] = {}
    fields = _category_fields(data, errors)
    parent = _parent(data.get("parent_id"), errors)
    _check_name_free(fields["name"], parent.id if parent else None, errors)
    if errors:
        raise ValidationFailed(errors)
    category = ProductCategory(parent_id=parent.id if parent else None, **fields)
    db.session.add(category)
    db.session.flush()  # the id is part of the path
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    category.depth = parent.depth + 1 if parent else 0
    db.session.flush()
    return category


def update_category(category: ProductCategory, data: dict[str, Any], *, actor: User) -> ProductCategory:
    """Rename, reorder or move (with everything below it) a category."""
    _require_manage(actor)
    errors: dict[str, str] = {}
    fields = _category_fields(data, errors)
    parent = _parent(data.get("parent_id"), errors, moving=category)
    new_parent_id = parent.id if parent else None
    _check_name_free(fields["name"], new_parent_id, errors, exclude_id=category.id)
    if new_parent_id != category.parent_id:
        below = _subtree_height(category)
        if (parent.depth + 1 if parent else 0) + below >= MAX_CATEGORY_DEPTH:
            errors["parent_id"] = str(_l("Categories nest at most %(n)d levels deep.", n=MAX_CATEGORY_DEPTH))
    if errors:
        raise ValidationFailed(errors)
    category.name, category.position = fields["name"], fields["position"]
    if new_parent_id != category.parent_id:
        old_path = category.path
        new_path = f"{parent.path if parent else '/'}{category.id}/"
        shift = (parent.depth + 1 if parent else 0) - category.depth
        category.parent_id = new_parent_id
        # Everything below follows (a category tree is small: rows are rewritten one by one, and the
        # operation log records each change of parent, path and depth).
        for row in db.session.scalars(select(ProductCategory).where(
                ProductCategory.path.like(f"{old_path}%"), ProductCategory.id != category.id)):
            row.path = new_path + row.path[len(old_path):]
            row.depth += shift
        category.path = new_path
        category.depth += shift
    db.session.flush()
    return category


def _subtree_height(category: ProductCategory) -> int:
    deepest = db.session.scalar(
        select(func.max(ProductCategory.depth)).where(ProductCategory.path.like(f"{category.path}%"))
    )
    return int(deepest or category.depth) - category.depth


def set_category_active(category: ProductCategory, active: bool, *, actor: User) -> ProductCategory:
    """Deactivate (hidden from new products, its products keep it) or activate a category. A category
    with active sub-categories cannot be deactivated; one under an inactive parent cannot be activated."""
    _require_manage(actor)
    if not active and db.session.scalar(select(ProductCategory.id).where(
            ProductCategory.parent_id == category.id, ProductCategory.active).limit(1)) is not None:
        raise Conflict(_l("Deactivate its sub-categories first."))
    if active and category.parent is not None and not category.parent.active:
        raise Conflict(_l("Activate its parent category first."))
    category.active = active
    db.session.flush()
    return category


# Products ---------------------------------------------------------------------------------------------------
_FIELD_ORDER = {name: i for i, name in enumerate(ProductInput().load_fields)}


def _checked(loaded: Loaded, current: Product | None = None) -> dict[str, str]:
    """The input's messages (ProductInput's) with those of the checks that need the database or the stored
    product: the category exists and is active (a product may keep its deactivated one), the dynamic load
    is not above the static one (the stored one when only one of them changes)."""
    errors = dict(loaded.errors)
    values = loaded.values
    if values.get("category_id") is not None:
        category = db.session.get(ProductCategory, values["category_id"])
        if category is None:
            errors["category_id"] = str(_l("Choose an existing category."))
        elif not category.active and (current is None or current.category_id != category.id):
            errors["category_id"] = str(_l("The category is deactivated."))
    # In the fields' order, as the import lists them (row by row, field by field).
    errors = dict(sorted(errors.items(), key=lambda item: _FIELD_ORDER.get(item[0], len(_FIELD_ORDER))))
    dynamic, static = (None if k in errors else values.get(k, getattr(current, k, None))
                       for k in ("dynamic_load_kg", "static_load_kg"))
    if dynamic is not None and static is not None and dynamic > static:
        errors["dynamic_load_kg"] = str(_l("The dynamic load cannot exceed the static load."))
    return errors


def _check_sku_free(sku: str | None, errors: dict[str, str], exclude_id: int | None = None) -> None:
    if not sku or "sku" in errors:
        return
    stmt = select(Product.id, Product.name).where(Product.sku == sku)
    if exclude_id is not None:
        stmt = stmt.where(Product.id != exclude_id)
    row = db.session.execute(stmt.limit(1)).first()
    if row is not None:
        errors["sku"] = str(_l("The SKU %(sku)s is already used by “%(name)s”.", sku=sku, name=row.name))


def create_product(data: Loaded | dict[str, Any], *, actor: User) -> Product:
    """A new product from `data` as loaded by ProductInput (plain values are loaded here)."""
    _require_manage(actor)
    loaded = load_input(ProductInput(), data)
    errors = _checked(loaded)
    _check_sku_free(loaded.values.get("sku"), errors)
    if errors:
        raise ValidationFailed(errors)
    product = Product(**loaded.values)
    db.session.add(product)
    db.session.flush()
    return product


def update_product(
    product: Product, data: Loaded | dict[str, Any], *, actor: User, lock_version: Any = None
) -> Product:
    """Change the fields present in `data`, as loaded by ProductInput(partial=True) (plain values are loaded
    here). `lock_version` (the version the user's form showed) makes an edit based on stale data a conflict
    instead of silently undoing someone else's change."""
    _require_manage(actor)
    if lock_version not in (None, "") and str(lock_version) != str(product.lock_version):
        raise Conflict(_l("Someone else changed this product meanwhile. Reload it and make your change again."))
    loaded = load_input(ProductInput(partial=True), data)
    errors = _checked(loaded, product)
    _check_sku_free(loaded.values.get("sku"), errors, exclude_id=product.id)
    if errors:
        raise ValidationFailed(errors)
    for key, value in loaded.values.items():
        setattr(product, key, value)
    db.session.flush()
    return product


def set_on_shelf(product: Product, on_shelf: bool, *, actor: User) -> Product:
    _require_manage(actor)
    product.on_shelf = on_shelf
    db.session.flush()
    return product


# Import -----------------------------------------------------------------------------------------------------
IMPORT_MAX_ROWS = 5000
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "SKU", "货号", "编码", "产品编码"),
    "name": ("name", "名称", "产品名称"),
    "category": ("category", "分类", "产品分类"),
    "size": ("size", "尺寸", "规格"),
    "material": ("material", "材质"),
    "dynamic_load_kg": ("dynamic load", "动载", "动载(kg)"),
    "static_load_kg": ("static load", "静载", "静载(kg)"),
    "racking_load_kg": ("racking load", "货架载", "货架载(kg)"),
    "unit": ("unit", "单位"),
    "list_price": ("list price", "标准价", "价格", "售价"),
    "cost_price": ("cost price", "成本价"),
    "on_shelf": ("on shelf", "上架"),
    "description": ("description", "描述", "说明"),
}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    products: list[Product] = dc_field(default_factory=list)


def import_products(raw: bytes, filename: str | None, *, actor: User) -> ImportResult:
    """Create or update products from a CSV/XLSX sheet, matched by SKU. Columns are found by their titles
    (English or Chinese, see IMPORT_COLUMNS); a category is named by its name or its path ("Pallets /
    Nine-leg"). Every row is checked first: any error refuses the whole file, naming each row and field
    (errors `row 5 · list_price`), and nothing is written."""
    _require_manage(actor)
    fmt = tabular.format_of(filename)
    # Read in the request, bounded: the zip's directory and declared size are checked first, and the reading
    # stops past IMPORT_MAX_ROWS rows whatever the file declares (crm.core.workbook_guard).
    rows = tabular.read_rows(raw, fmt, max_rows=IMPORT_MAX_ROWS)
    header = next(rows, None)
    if header is None:
        raise ValidationFailed({"file": _l("The file is empty.")})
    columns = tabular.match_columns(header, IMPORT_COLUMNS)
    missing = [c for c in ("sku", "name", "list_price") if c not in columns]
    if missing:
        raise ValidationFailed({"file": _l("The first row must name the columns; missing: %(cols)s.",
                                          cols=", ".join(missing))})
    categories = _categories_by_name()
    existing = {p.sku: p for p in db.session.scalars(select(Product))}
    errors: dict[str, str] = {}
    planned: list[tuple[Product | None, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    new_row, known_row = ProductInput(), ProductInput(partial=True)
    for number, cells in enumerate(rows, start=2):
        if number - 1 > IMPORT_MAX_ROWS:
            raise ValidationFailed({"file": _l("A file may hold at most %(n)d products.", n=IMPORT_MAX_ROWS)})
        data = {field: cells[i] if i < len(cells) else "" for field, i in columns.items()}
        refused = _category_cell(data, categories)
        if refused is not None:
            errors[f"row {number} · category"] = refused
        sku = normalise_sku(data.get("sku"))
        current = existing.get(sku)
        if current is None:
            loaded = load_input(new_row, data)
        else:
            # A known SKU: blank cells keep the product's values.
            loaded = load_input(known_row, {k: v for k, v in data.items() if v != "" or k == "sku"})
        row_errors = _checked(loaded, current)
        if sku in seen:
            row_errors["sku"] = str(_l("The SKU %(sku)s is also on row %(row)d.", sku=sku, row=seen[sku]))
        seen.setdefault(sku, number)
        for field, message in row_errors.items():
            errors[f"row {number} · {field}"] = message
        planned.append((current, loaded.values))
    if errors:
        raise ValidationFailed(errors, message=str(_l("Nothing was imported: correct the rows below and upload again.")))
    return _write(planned)


def _category_cell(data: dict[str, Any], categories: dict[str, ProductCategory]) -> str | None:
    """The row's category cell (a name or a path) as its `category_id`; the message when there is none such."""
    if "category" not in data:
        return None
    name = data.pop("category").strip()
    if not name:
        data["category_id"] = ""
        return None
    category = categories.get(" / ".join(p.strip() for p in name.split("/")).lower())
    if category is None:
        return str(_l("No category “%(name)s”.", name=name))
    data["category_id"] = category.id
    return None


def _write(planned: list[tuple[Product | None, dict[str, Any]]]) -> ImportResult:
    """The checked rows: new products, and the changes of known ones."""
    result = ImportResult()
    for current, values in planned:
        if current is None:
            product = Product(**values)
            db.session.add(product)
            result.created += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(current, k) != v}
            for key, value in changed.items():
                setattr(current, key, value)
            product = current
            if changed:
                result.updated += 1
            else:
                result.unchanged += 1
        result.products.append(product)
    db.session.flush()
    return result


def _categories_by_name() -> dict[str, ProductCategory]:
    """Lower-case name and lower-case path of names ("pallets / nine-leg") -> active category."""
    categories = {c.id: c for c in db.session.scalars(select(ProductCategory).where(ProductCategory.active))}
    out: dict[str, ProductCategory] = {}
    for c in categories.values():
        names = [categories[i].name for i in c.ancestor_ids if i in categories]
        out.setdefault(c.name.lower(), c)
        out[" / ".join(names).lower()] = c
    return out


# Images -----------------------------------------------------------------------------------------------------
MAX_IMAGES = 8
IMAGE_MAX_BYTES = 5 * 1024 * 1024


def add_image(product: Product, filename: Any, stream: IO[bytes], *, actor: User) -> ProductImage:
    """A PNG, JPEG, GIF or WebP picture (at most 5 MB, at most 8 per product), shown after the others."""
    _require_manage(actor)
    count = db.session.scalar(select(func.count()).select_from(ProductImage).where(ProductImage.product_id == product.id))
    if (count or 0) >= MAX_IMAGES:
        raise ValidationFailed({"file": _l("A product has at most %(n)d pictures; remove one first.", n=MAX_IMAGES)})
    stored = files.store_upload(filename, stream, accept=files.IMAGE_TYPES, limit=IMAGE_MAX_BYTES)
    last = db.session.scalar(select(func.max(ProductImage.position)).where(ProductImage.product_id == product.id))
    image = ProductImage(product_id=product.id, original_name=stored.name, stored_name=stored.relative,
                         content_type=stored.content_type, size=stored.size, position=(last or 0) + 1,
                         uploaded_by_id=actor.id)
    db.session.add(image)
    db.session.flush()
    return image


def remove_image(product: Product, image_id: Any, *, actor: User) -> None:
    _require_manage(actor)
    image = db.session.get(ProductImage, as_id(image_id))
    if image is None or image.product_id != product.id:
        raise NotFound()
    files.remove_stored(image.stored_name)
    db.session.delete(image)
    db.session.flush()


def make_cover(product: Product, image_id: Any, *, actor: User) -> None:
    """Show this picture first (the list's thumbnail)."""
    _require_manage(actor)
    images = list(db.session.scalars(select(ProductImage).where(ProductImage.product_id == product.id)
                                     .order_by(ProductImage.position, ProductImage.id)))
    chosen = next((i for i in images if i.id == as_id(image_id)), None)
    if chosen is None:
        raise NotFound()
    for position, image in enumerate([chosen] + [i for i in images if i is not chosen]):
        image.position = position
    db.session.flush()
