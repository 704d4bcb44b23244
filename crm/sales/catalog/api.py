"""/api/v1/products and /api/v1/product-categories — the catalogue (company master data: every token
user with `api.use` reads it; `product.manage` changes it; cost price and margin only with
`product.cost`)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.core.pagination import Page
from crm.core.validation import load_input
from crm.core.web import stored_file_response
from crm.sales.catalog import queries
from crm.sales.catalog import services
from crm.sales.catalog.models import Product
from crm.sales.catalog.schemas import CategoryPatchSchema
from crm.sales.catalog.schemas import CategorySchema
from crm.sales.catalog.schemas import CategoryWriteSchema
from crm.sales.catalog.schemas import ProductInput
from crm.sales.catalog.schemas import ProductPatchSchema
from crm.sales.catalog.schemas import ProductQuerySchema
from crm.sales.catalog.schemas import ProductSchema
from crm.sales.catalog.schemas import ProductWriteSchema

blp = ApiBlueprint(
    "Products", __name__, url_prefix="/api/v1",
    description="The product catalogue: categories, products, on or off the shelf.",
)

ProductPageSchema = page_schema(ProductSchema, "ProductPage")


class ProductListArgsSchema(ProductQuerySchema, PageArgsSchema):
    pass


_PRODUCT_FIELDS = tuple(ProductSchema().fields)


def _out(product: Product) -> dict[str, Any]:
    """The product's values for the response schema, without cost price and margin for callers who may
    not see them (absent, not null)."""
    data = {name: getattr(product, name) for name in _PRODUCT_FIELDS}
    if not current_user.can("product.cost"):
        data.pop("cost_price")
        data.pop("margin")
    return data


@blp.route("/products")
class Products(MethodView):
    @blp.requires("api.use")
    @blp.arguments(ProductListArgsSchema, location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List products (on the shelf unless `shelf` says otherwise)"""
        category = queries.get_category(args["category_id"]) if args.get("category_id") else None
        filters = queries.ProductFilters(
            q=(args.get("q") or "").strip(), category=category, shelf=args["shelf"], material=args.get("material"),
            min_price=args.get("min_price"), max_price=args.get("max_price"), sort=args["sort"])
        page = queries.list_products(filters, args["cursor"], args["limit"])
        return Page(items=[_out(p) for p in page.items], next_cursor=page.next_cursor, limit=page.limit)

    @blp.requires("api.use", "product.manage")
    @blp.arguments(ProductWriteSchema)
    @blp.response(201, ProductSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a product"""
        return _out(services.create_product(load_input(ProductInput(), data), actor=current_user))


@blp.route("/products/<int:product_id>")
class ProductItem(MethodView):
    @blp.requires("api.use")
    @blp.errors(404)
    @blp.response(200, ProductSchema)
    def get(self, product_id: int) -> Any:
        """One product"""
        return _out(queries.get_product(product_id))

    @blp.requires("api.use", "product.manage")
    @blp.errors(404, 409)
    @blp.arguments(ProductPatchSchema)
    @blp.response(200, ProductSchema)
    def patch(self, data: dict[str, Any], product_id: int) -> Any:
        """Change the fields sent (`on_shelf` puts it on or off the shelf)"""
        product = queries.get_product(product_id)
        lock_version = data.pop("lock_version", None)
        if not current_user.can("product.cost"):
            data.pop("cost_price", None)
        loaded = load_input(ProductInput(partial=True), data)
        return _out(services.update_product(product, loaded, actor=current_user, lock_version=lock_version))


@blp.route("/products/<int:product_id>/images/<int:image_id>", methods=["GET"])
@blp.requires("api.use")
@blp.errors(404)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
def image(product_id: int, image_id: int) -> Any:
    """Download a picture of a product"""
    picture, path = queries.get_image(product_id, image_id)
    return stored_file_response(path, picture.content_type, picture.original_name, inline=True)


@blp.route("/product-categories")
class Categories(MethodView):
    @blp.requires("api.use")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(CategorySchema, "CategoryPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Every category, depth first"""
        return page_of([row.category for row in queries.category_tree()], args)

    @blp.requires("api.use", "product.manage")
    @blp.arguments(CategoryWriteSchema)
    @blp.response(201, CategorySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a category (under `parent_id`, or at the top)"""
        return services.create_category(data, actor=current_user)


@blp.route("/product-categories/<int:category_id>")
class CategoryItem(MethodView):
    @blp.requires("api.use", "product.manage")
    @blp.errors(404, 409)
    @blp.arguments(CategoryPatchSchema)
    @blp.response(200, CategorySchema)
    def patch(self, data: dict[str, Any], category_id: int) -> Any:
        """Rename, reorder, move (with everything below it), deactivate or activate a category"""
        category = queries.get_category(category_id)
        active = data.pop("active", None)
        if data:
            current = {"name": category.name, "parent_id": category.parent_id, "position": category.position}
            category = services.update_category(category, {**current, **data}, actor=current_user)
        if active is not None and active != category.active:
            category = services.set_category_active(category, active, actor=current_user)
        return category
