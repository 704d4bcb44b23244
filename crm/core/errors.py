"""Domain errors. Services raise them; the web edge (`crm.core.web`) turns them into an HTML page with
the message or a JSON problem-details document (RFC 9457) with per-field messages.

Messages are lazy strings so they are translated in the language of the request that shows them."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A business rule refused the operation. `status` is the HTTP status the edge answers with."""

    status = 422
    default_message = _l("The request could not be completed.")
    raw: dict[str, Any] | None = None  # a refused form's values as typed, for the page to show again

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.field = field
        super().__init__(str(self.message))

    @property
    def errors(self) -> dict[str, list[str]]:
        return {self.field: [str(self.message)]} if self.field else {}


class ValidationFailed(DomainError):
    """One or more fields are invalid. `errors` maps a field name to its messages."""

    status = 422
    default_message = _l("Some fields are invalid.")

    def __init__(self, errors: Mapping[str, str | Sequence[str]], message: str | None = None) -> None:
        super().__init__(message)
        self._errors = {
            field: [str(m) for m in ([msgs] if isinstance(msgs, str) or not isinstance(msgs, Sequence) else msgs)]
            for field, msgs in errors.items()
        }

    @property
    def errors(self) -> dict[str, list[str]]:
        return self._errors


class NotFound(DomainError):
    """Missing, or outside the actor's data scope: the two are indistinguishable on purpose."""

    status = 404
    default_message = _l("Not found.")


class PermissionDenied(DomainError):
    status = 403
    default_message = _l("You do not have permission to do this.")


class Conflict(DomainError):
    """Someone else changed the object first (optimistic lock, unique key, already completed)."""

    status = 409
    default_message = _l("This record was changed by someone else. Reload and try again.")


class InvalidTransition(DomainError):
    status = 409
    default_message = _l("This action is not possible in the current state.")
