"""Demo catalogue for `flask crm seed-demo`: pallet categories and products a plastic-pallet maker
sells, created through the services (as an admin would)."""

from __future__ import annotations

from typing import Any

from crm.sales.catalog import services

CATEGORIES = [("pallets", None, "塑料托盘"), ("nine_leg", "pallets", "九脚托盘"), ("sichuan", "pallets", "川字托盘"),
              ("tianzi", "pallets", "田字托盘"), ("crates", None, "周转箱"), ("accessories", None, "配件")]

# sku, name, category, size, material, dynamic kg, static kg, racking kg, list price, cost price, on shelf
PRODUCTS = [
    ("PL-1210-9", "九脚平板托盘 1210", "nine_leg", "1200×1000×140 mm", "hdpe", 500, 2000, None, "78.00", "46.80", True),
    ("PL-1111-9", "九脚平板托盘 1111", "nine_leg", "1100×1100×140 mm", "hdpe", 500, 2000, None, "72.00", "43.20", True),
    ("PL-1208-9L", "轻型九脚托盘 1208（出口免熏蒸）", "nine_leg", "1200×800×130 mm", "recycled", 300, 1000, None, "39.50",
     "25.00", True),
    ("PL-1210-C3", "川字网格托盘 1210", "sichuan", "1200×1000×150 mm", "hdpe", 1000, 4000, 500, "128.00", "76.80", True),
    ("PL-1311-C3S", "川字钢管加强托盘 1311", "sichuan", "1300×1100×150 mm", "composite", 1500, 6000, 1200, "218.00",
     "142.00", True),
    ("PL-1212-T", "田字双面托盘 1212", "tianzi", "1200×1200×150 mm", "hdpe", 1500, 6000, 1000, "186.00", "111.60", True),
    ("PL-1412-T", "田字重型托盘 1412（货架用）", "tianzi", "1400×1200×160 mm", "composite", 2000, 8000, 1500, "268.00",
     "174.00", True),
    ("PL-1210-T-OLD", "田字托盘 1210（旧款）", "tianzi", "1200×1000×150 mm", "pp", 1000, 4000, 800, "158.00", "98.00",
     False),
    ("CR-600-400", "折叠周转箱 600×400", "crates", "600×400×280 mm", "pp", None, None, None, "32.00", "18.50", True),
    ("CR-EU-4322", "欧标物流箱 EU4322", "crates", "400×300×220 mm", "pp", None, None, None, "26.00", "15.00", True),
    ("AC-EDGE-4", "托盘防滑垫（4 片装）", "accessories", "100×100×5 mm", "recycled", None, None, None, "6.00", "2.40",
     True),
]


def seed(actor: Any) -> None:
    ids: dict[str, int] = {}
    for key, parent, name in CATEGORIES:
        ids[key] = services.create_category({"name": name, "parent_id": ids.get(parent) if parent else None},
                                            actor=actor).id
    for sku, name, category, size, material, dyn, static, racking, price, cost, on_shelf in PRODUCTS:
        services.create_product({
            "sku": sku, "name": name, "category_id": ids[category], "size": size, "material": material,
            "dynamic_load_kg": dyn, "static_load_kg": static, "racking_load_kg": racking, "unit": "片" if
            category not in ("crates",) else "个", "list_price": price, "cost_price": cost, "on_shelf": on_shelf,
        }, actor=actor)




