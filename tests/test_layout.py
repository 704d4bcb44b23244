"""The layout keeps its rules (docs/architecture.md, issue 19): every package is on the map, a name prefix
is a missing folder, and the request owns the transaction — no view, API module or service commits or
rolls back."""

from __future__ import annotations

import re
from pathlib import Path

CRM = Path(__file__).resolve().parents[1] / "crm"
DOC = CRM.parent / "docs" / "architecture.md"
SKIP = {"static", "templates", "translations", "__pycache__"}


def _packages() -> list[Path]:
    return sorted(p.parent for p in CRM.rglob("__init__.py") if not SKIP & set(p.parts) and p.parent != CRM)


def test_every_package_is_on_the_map() -> None:
    text = DOC.read_text()
    missing = []
    for package in _packages():
        rel = package.relative_to(CRM.parent).as_posix()  # crm/sales/orders
        name = package.relative_to(CRM).as_posix()  # sales/orders
        leaf = package.name
        if f"{rel}/" not in text and f"`{leaf}/`" not in text and f"{name}/" not in text:
            missing.append(rel)
    assert not missing, f"packages not described in docs/architecture.md: {missing}"


def test_no_module_is_named_after_a_sibling_with_a_prefix() -> None:
    offenders = []
    for folder in [CRM, *_packages()]:
        names = {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if p.is_dir()}
        for module in folder.glob("*.py"):
            prefix = module.stem.split("_")[0]
            if "_" in module.stem.strip("_") and prefix in names and prefix != module.stem:
                offenders.append(module.relative_to(CRM.parent).as_posix())
    assert not offenders, f"a prefix is a missing folder: {offenders}"


_TRANSACTION = re.compile(r"session\.(commit|rollback)\(\)|commit_on_error")


def test_views_apis_and_services_never_handle_the_transaction() -> None:
    offenders = []
    for path in CRM.rglob("*.py"):
        rel = path.relative_to(CRM).as_posix()
        edge_or_service = (path.name in ("views.py", "api.py", "services.py") or "/views/" in f"/{rel}"
                           or "/services/" in f"/{rel}")
        if edge_or_service and _TRANSACTION.search(path.read_text()):
            offenders.append(rel)
    assert not offenders, f"the request's transaction hook owns commit and rollback: {offenders}"
