"""The reader's language outside templates: the catalogue's translation of a text, the current language,
and the pick of one language's version from texts stored per language (inbox tasks' `texts`, see
crm.workflow.i18n)."""

from __future__ import annotations

from typing import Any

SOURCE_LANGUAGE = "en"  # the language the code, the BPMN files and the catalogue's message ids are written in


def translate(text: str) -> str:
    """The catalogue's translation of `text` for the current locale, or `text` itself (also outside a
    request, e.g. validating a deployment from the command line)."""
    try:
        from flask_babel import gettext

        return str(gettext(text)) if text else text
    except RuntimeError:  # no app or request context
        return text


def current_language() -> str:
    try:
        from flask_babel import get_locale

        locale = get_locale()
    except RuntimeError:
        return SOURCE_LANGUAGE
    return locale.language if locale is not None else SOURCE_LANGUAGE


def shown(texts: dict[str, Any] | None, key: str, default: str | None) -> str | None:
    """The reader's version of `key` from `texts` ({language: {key: text}}, as
    crm.workflow.i18n.rendered_texts writes them), else `default`."""
    if not texts:
        return default
    entry = texts.get(current_language())
    value = entry.get(key) if isinstance(entry, dict) else None
    return value if isinstance(value, str) and value else default
