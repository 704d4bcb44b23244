"""Translating the text of task forms (forms/*.json): titles, descriptions, help, placeholders and option
labels are looked up in the app's message catalogue, so the forms shipped with the product show in the
reader's language; text a process owner writes that the catalogue does not know is shown as written.

`extract` is the Babel extractor that puts those strings into messages.pot (babel.cfg, `make messages`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from crm.core.i18n import translate

__all__ = ["extract", "translate"]

TEXT_KEYS = frozenset({"title", "description", "ui:title", "ui:description", "ui:help", "ui:placeholder"})
LIST_KEYS = frozenset({"enumNames"})


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_KEYS and isinstance(value, str):
                yield value
            elif key in LIST_KEYS and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def extract(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method for form files: (line, function, message, comments) per text string."""
    text = fileobj.read().decode("utf-8")
    try:
        document = json.loads(text)
    except ValueError:
        return
    for message in dict.fromkeys(_strings(document)):  # once each, in order
        if "{{" in message:  # filled from task data: the words around it are the process owner's
            continue
        line = next((n for n, row in enumerate(text.splitlines(), 1) if json.dumps(message)[1:-1] in row), 1)
        yield line, "gettext", message, []
