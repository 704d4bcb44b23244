"""What a submission keeps from the task data rather than from the request: read-only and hidden fields,
the rows a table is given (not addable, not removable) and their read-only cells, and file fields (new
uploads, or what the task already holds)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from crm.core.errors import ValidationFailed
from crm.workflow.tasks.forms.fields import Errors
from crm.workflow.tasks.forms.fields import Field
from crm.workflow.tasks.forms.fields import add_error as _add
from crm.workflow.tasks.forms.fields import as_dict
from crm.workflow.tasks.forms.fields import as_mapping

StoreFile = Callable[[Field, str, Any], int]  # (field, path, upload) -> attachment id; raises ValidationFailed


def keep(fields: list[Field], data: Mapping[str, Any], draft: Mapping[str, Any], out: dict[str, Any],
         uploads: Mapping[str, Any], prefix: str, store: StoreFile | None, errors: Errors,
         file_ids: set[int] | None) -> None:
    """Read-only and hidden fields from the task data; file fields from new uploads or what the task
    already holds."""
    for f in fields:
        path = prefix + f.name
        if f.widget == "group":
            inner = as_dict(out.get(f.name))
            keep(f.children, as_mapping(data.get(f.name)), as_mapping(draft.get(f.name)), inner, uploads, path + ".",
                 store, errors, file_ids)
            out[f.name] = inner
        elif f.readonly or f.widget == "hidden":
            if f.name in data:
                out[f.name] = copy.deepcopy(data[f.name])
        elif f.widget == "table" and not (f.addable and f.removable) and isinstance(data.get(f.name), list):
            _fixed_rows(f, data[f.name], out, path, errors)
        elif f.widget == "file":
            upload = uploads.get(path)
            if upload is not None and store is not None and getattr(upload, "filename", None):
                try:
                    out[f.name] = store(f, path, upload)
                except ValidationFailed as exc:
                    for messages in exc.errors.values():
                        for message in messages:
                            _add(errors, path, message)
            elif f.name in out and file_ids is not None:  # the API names an attachment of the task
                if out[f.name] not in file_ids:
                    _add(errors, path, _l("%(field)s: upload the file to the task first.", field=f.title))
            elif f.name in draft:
                out[f.name] = draft[f.name]
            elif f.name in data:
                out[f.name] = data[f.name]


def _fixed_rows(f: Field, given: list[Any], out: dict[str, Any], path: str, errors: Errors) -> None:
    """A table whose rows the task data gives (not addable, not removable): exactly that many rows may
    come back, and their read-only cells are the task data's, whatever was posted."""
    rows = out.get(f.name)
    if not isinstance(rows, list):
        return
    if (len(rows) > len(given) and not f.addable) or (len(rows) < len(given) and not f.removable):
        _add(errors, path, _l("%(field)s needs exactly %(n)d rows, one per given line (%(got)d sent).", field=f.title,
                              n=len(given), got=len(rows)))
        return
    for row, source in zip(rows, given, strict=False):
        if isinstance(row, dict) and isinstance(source, Mapping):
            for column in f.children:
                if (column.readonly or column.widget == "hidden") and column.name in source:
                    row[column.name] = copy.deepcopy(source[column.name])


def merge_kept(fields: list[Field], raw: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Show read-only, hidden and file fields again with the values they hold (never posted back)."""
    for f in fields:
        if f.widget == "group" and isinstance(raw.get(f.name), dict) and isinstance(values.get(f.name), Mapping):
            merge_kept(f.children, raw[f.name], values[f.name])
        elif (f.readonly or f.widget in ("hidden", "file")) and f.name in values:
            raw[f.name] = values[f.name]
