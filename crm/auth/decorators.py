"""View decorators for the web edge: a permission check on top of log-in."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar

from flask_login import current_user
from flask_login import login_required

from crm.core.errors import PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])


def permission_required(*permissions: str) -> Callable[[F], F]:
    """Log-in required, and every named permission. Out-of-scope *objects* answer 404 via get_visible;
    a missing function permission answers 403 (the function's existence is no secret)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not all(current_user.can(p) for p in permissions):
                raise PermissionDenied()
            return view(*args, **kwargs)

        wrapped.required_permissions = permissions  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
