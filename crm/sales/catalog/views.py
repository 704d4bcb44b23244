"""Product catalogue pages: the filtered list with export, a product's page with its history, create,
edit (with a stale-edit check), on/off the shelf, import from a spreadsheet, and the category tree."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from flask import Response
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required

from crm.auth.decorators import permission_required
from crm.core import tabular
from crm.core.audit import ids_in
from crm.core.audit import label_of
from crm.core.audit import name_of
from crm.core.audit import readable
from crm.core.audit import timeline
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.validation import check_money
from crm.core.validation import load_input
from crm.core.web import forget_refused_write
from crm.core.web import stored_file_response
from crm.extensions import db
from crm.sales.blueprint import bp
from crm.sales.catalog import queries
from crm.sales.catalog import services
from crm.sales.catalog.models import FIELD_LABELS
from crm.sales.catalog.models import MATERIALS
from crm.sales.catalog.models import Product
from crm.sales.catalog.schemas import ProductInput

PRODUCT_FIELDS = ("sku", "name", "category_id", "size", "material", "dynamic_load_kg", "static_load_kg",
                  "racking_load_kg", "unit", "list_price", "cost_price", "description")
SORT_LABELS = {"name": _l("Name"), "sku": _l("SKU"), "price_asc": _l("Price, lowest first"),
               "price_desc": _l("Price, highest first"), "newest": _l("Newest first")}
SHELF_LABELS = {"on": _l("On the shelf"), "off": _l("Off the shelf"), "all": _l("All")}



def _filters() -> queries.ProductFilters:
    args = request.args
    category = None
    if args.get("category_id"):
        try:
            category = queries.get_category(args.get("category_id"))
        except DomainError:
            category = None
    errors: dict[str, str] = {}
    min_price = check_money(args.get("min_price"), errors, "min_price", required=False)
    max_price = check_money(args.get("max_price"), errors, "max_price", required=False)
    shelf = args.get("shelf", "on")
    material = args.get("material") or None
    sort = args.get("sort", "name")
    return queries.ProductFilters(
        q=(args.get("q") or "").strip()[:100], category=category,
        shelf=shelf if shelf in SHELF_LABELS else "on", min_price=min_price, max_price=max_price,
        material=material if material in MATERIALS else None, sort=sort if sort in queries.SORTS else "name",
    )


def _can_see_cost() -> bool:
    return bool(current_user.can("product.cost"))


@bp.route("/products/")
@login_required
def products() -> Any:
    filters = _filters()
    export = request.args.get("export")
    if export in tabular.FORMATS:
        return _export(filters, export)
    page = queries.list_products(filters, request.args.get("cursor") or None, current_app.config["PAGE_SIZE"])
    return render_template(
        "sales/products.html", page=page, filters=filters, sort_labels=SORT_LABELS, shelf_labels=SHELF_LABELS,
        materials=MATERIALS, category_choices=queries.category_choices(active_only=False),
        categories=queries.category_names({p.category_id for p in page.items if p.category_id}),
        covers=queries.covers([p.id for p in page.items]), show_cost=_can_see_cost(),
    )


def _export(filters: queries.ProductFilters, fmt: str) -> Response:
    show_cost = _can_see_cost()
    titles = [str(FIELD_LABELS[f]) for f in ("sku", "name")] + [str(_("Category"))] + [
        str(FIELD_LABELS[f]) for f in ("size", "material", "dynamic_load_kg", "static_load_kg", "racking_load_kg",
                                       "unit", "list_price")]
    if show_cost:
        titles += [str(FIELD_LABELS["cost_price"]), str(_("Margin"))]
    titles += [str(FIELD_LABELS["on_shelf"]), str(FIELD_LABELS["description"])]
    names = {c.id: c.name for c in (r.category for r in queries.category_tree())}

    def rows() -> Any:
        for p in queries.export_rows(filters):
            row = [p.sku, p.name, names.get(p.category_id or 0, ""), p.size, p.material, p.dynamic_load_kg,
                   p.static_load_kg, p.racking_load_kg, p.unit, p.list_price]
            if show_cost:
                row += [p.cost_price, f"{p.margin:.2%}" if p.margin is not None else ""]
            yield row + [p.on_shelf, p.description]

    body = tabular.write_table(titles, rows(), fmt, sheet="products")
    return Response(body, mimetype=tabular.MIMETYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="products.{fmt}"', "Cache-Control": "private, no-store"})


@bp.route("/products/search")
@login_required
def products_search() -> Any:
    """On-shelf products for the line pickers (JSON): name, SKU, spec and list price, at most `limit`."""
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError:
        limit = 20
    found = queries.search_on_shelf(request.args.get("q", ""), limit)
    return jsonify({"items": [{"id": p.id, "sku": p.sku, "name": p.name, "spec": " · ".join(
        x for x in (p.size, p.material) if x), "unit": p.unit, "list_price": f"{p.list_price:.2f}"} for p in found]})


@bp.route("/products/<int:product_id>")
@login_required
def product_detail(product_id: int) -> Any:
    product = queries.get_product(product_id)
    entries = timeline(db.session, "product", product.id)
    if not _can_see_cost():  # the history must not show what the page hides (copies: the log stays as is)
        entries = [{**item, "entry": SimpleNamespace(
            occurred_at=item["entry"].occurred_at, action=item["entry"].action, note=item["entry"].note,
            changes={k: v for k, v in (item["entry"].changes or {}).items() if k != "cost_price"})}
            for item in entries]
    entries = readable(entries, {"material": label_of(MATERIALS),
                                 "category_id": name_of(queries.category_names(ids_in(entries, {"category_id"})))})
    return render_template("sales/product_detail.html", product=product, entries=entries, field_labels=FIELD_LABELS,
                           materials=MATERIALS, show_cost=_can_see_cost(), max_images=services.MAX_IMAGES)


def _form_of(product: Product | None) -> dict[str, Any]:
    if product is None:
        return {"unit": "pcs"}
    return {f: ("" if getattr(product, f) is None else getattr(product, f)) for f in PRODUCT_FIELDS} | {
        "lock_version": product.lock_version}


def _render_form(product: Product | None, form: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    return render_template(
        "sales/product_form.html", product=product, form=form, errors=errors,
        category_choices=queries.category_choices(active_only=True), materials=list(MATERIALS.items()),
        show_cost=_can_see_cost(),
    ), status


def _submitted() -> dict[str, Any]:
    data = {f: request.form.get(f, "") for f in PRODUCT_FIELDS}
    if not _can_see_cost():
        data.pop("cost_price")  # a user who cannot see the cost price cannot change it either
    return data


@bp.route("/products/new", methods=["GET", "POST"])
@permission_required("product.manage")
def product_new() -> Any:
    if request.method == "GET":
        return _render_form(None, _form_of(None), {})
    try:
        submitted = _submitted() | {"on_shelf": request.form.get("on_shelf", "")}
        product = services.create_product(load_input(ProductInput(), submitted), actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(None, dict(request.form), exc.errors, 422)
    flash(_("The product %(name)s was created.", name=product.name), "success")
    return redirect(url_for("sales.product_detail", product_id=product.id), code=303)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@permission_required("product.manage")
def product_edit(product_id: int) -> Any:
    product = queries.get_product(product_id)
    if request.method == "GET":
        return _render_form(product, _form_of(product), {})
    try:
        services.update_product(product, load_input(ProductInput(partial=True), _submitted()), actor=current_user,
                                lock_version=request.form.get("lock_version"))
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(queries.get_product(product_id), dict(request.form), exc.errors, 422)
    except DomainError as exc:
        forget_refused_write(exc)
        return _render_form(queries.get_product(product_id), dict(request.form),
                            {"_form": [str(exc.message)]}, exc.status)
    flash(_("The product %(name)s was saved.", name=product.name), "success")
    return redirect(url_for("sales.product_detail", product_id=product.id), code=303)


@bp.route("/products/<int:product_id>/shelf", methods=["POST"])
@permission_required("product.manage")
def product_shelf(product_id: int) -> Any:
    product = queries.get_product(product_id)
    on = request.form.get("on_shelf") == "1"
    services.set_on_shelf(product, on, actor=current_user)
    flash(_("%(name)s is now on the shelf.", name=product.name) if on
          else _("%(name)s is now off the shelf: new quotes and orders cannot use it.", name=product.name), "success")
    return redirect(url_for("sales.product_detail", product_id=product.id), code=303)


@bp.route("/products/import", methods=["GET", "POST"])
@permission_required("product.manage")
def product_import() -> Any:
    if request.method == "GET":
        return render_template("sales/product_import.html", errors={}, columns=services.IMPORT_COLUMNS)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({"file": _l("Choose a file.")})
        raw = upload.stream.read(current_app.config.get("IMPORT_MAX_BYTES", 10 * 1024 * 1024) + 1)
        if len(raw) > current_app.config.get("IMPORT_MAX_BYTES", 10 * 1024 * 1024):
            raise ValidationFailed({"file": _l("The file is larger than 10 MB.")})
        result = services.import_products(raw, upload.filename, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return render_template("sales/product_import.html", errors=exc.errors, message=exc.message,
                               columns=services.IMPORT_COLUMNS), 422
    flash(_("Import done: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.",
            created=result.created, updated=result.updated, unchanged=result.unchanged), "success")
    return redirect(url_for("sales.products", shelf="all"), code=303)


# Pictures ---------------------------------------------------------------------------------------------------
@bp.route("/products/<int:product_id>/images", methods=["POST"])
@permission_required("product.manage")
def image_upload(product_id: int) -> Any:
    product = queries.get_product(product_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({"file": _l("Choose a file.")})
        services.add_image(product, upload.filename, upload.stream, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for("sales.product_detail", product_id=product_id, _anchor="pictures"), code=303)
    flash(_("The picture was added."), "success")
    return redirect(url_for("sales.product_detail", product_id=product_id, _anchor="pictures"), code=303)


@bp.route("/products/<int:product_id>/images/<int:image_id>")
@login_required
def image(product_id: int, image_id: int) -> Any:
    picture, path = queries.get_image(product_id, image_id)
    return stored_file_response(path, picture.content_type, picture.original_name, inline=True, cache_seconds=3600)


@bp.route("/products/<int:product_id>/images/<int:image_id>/delete", methods=["POST"])
@permission_required("product.manage")
def image_delete(product_id: int, image_id: int) -> Any:
    services.remove_image(queries.get_product(product_id), image_id, actor=current_user)
    flash(_("The picture was removed."), "success")
    return redirect(url_for("sales.product_detail", product_id=product_id, _anchor="pictures"), code=303)


@bp.route("/products/<int:product_id>/images/<int:image_id>/cover", methods=["POST"])
@permission_required("product.manage")
def image_cover(product_id: int, image_id: int) -> Any:
    services.make_cover(queries.get_product(product_id), image_id, actor=current_user)
    return redirect(url_for("sales.product_detail", product_id=product_id, _anchor="pictures"), code=303)


# Categories -------------------------------------------------------------------------------------------------
@bp.route("/products/categories", methods=["GET", "POST"])
@login_required
def categories() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        form = dict(request.form)
        try:
            category = services.create_category(form, actor=current_user)
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors, status = exc.errors, 422
        else:
            flash(_("The category %(name)s was created.", name=category.name), "success")
            return redirect(url_for("sales.categories"), code=303)
    return render_template("sales/categories.html", rows=queries.category_tree(), errors=errors, form=form,
                           parent_choices=queries.category_choices(active_only=True)), status


@bp.route("/products/categories/<int:category_id>", methods=["POST"])
@permission_required("product.manage")
def category_update(category_id: int) -> Any:
    category = queries.get_category(category_id)
    action = request.form.get("_action")
    try:
        if action in ("activate", "deactivate"):
            services.set_category_active(category, action == "activate", actor=current_user)
        else:
            services.update_category(category, dict(request.form), actor=current_user)
    except DomainError as exc:
        forget_refused_write(exc)
        messages = exc.errors.values() if isinstance(exc, ValidationFailed) else [[str(exc.message)]]
        for field_messages in messages:
            for message in field_messages:
                flash(message, "danger")
        return redirect(url_for("sales.categories", _anchor=f"category-{category_id}"), code=303)
    flash(_("The category %(name)s was saved.", name=category.name), "success")
    return redirect(url_for("sales.categories", _anchor=f"category-{category_id}"), code=303)


def money(value: Decimal | None) -> str:
    return "—" if value is None else f"¥{value:,.2f}"


bp.add_app_template_filter(money, "money")
