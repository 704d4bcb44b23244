"""The processes blueprint and what its pages share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required

from crm.core.errors import PermissionDenied
from crm.workflow.models import InstanceStatus

# import_name is the package so that `templates/` resolves to crm/processes/templates. The editor's script
# lives in crm/static/processes/ (the app's static folder).
bp = Blueprint("processes", "crm.processes", template_folder="templates", url_prefix="/processes")

F = TypeVar("F", bound=Callable[..., Any])

STATUS_BADGES = {
    InstanceStatus.RUNNING: "primary",
    InstanceStatus.COMPLETED: "success",
    InstanceStatus.ERROR: "danger",
    InstanceStatus.SUSPENDED: "warning",
    InstanceStatus.TERMINATED: "secondary",
}

SOURCE_LABELS = {"editor": _l("Browser editor")}


def source_label(source: str) -> str:
    if source.startswith("file:"):
        return source[5:]
    if source.startswith("rollback:v"):
        return str(_l("Made current again from v%(version)s", version=source[len("rollback:v"):]))
    return str(SOURCE_LABELS.get(source, source))


def any_permission(*permissions: str) -> Callable[[F], F]:
    """Log-in required, and at least one of the named permissions (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(current_user.can(p) for p in permissions):
                raise PermissionDenied()
            return view(*args, **kwargs)

        wrapped.required_permissions = permissions  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
