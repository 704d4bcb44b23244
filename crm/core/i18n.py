"""The reader's language outside templates: the catalogue's translation of a text, the current language,
and the pick of one language's version from texts stored per language (inbox tasks' `texts`, see
crm.workflow.i18n)."""

from __future__ import annotations

import functools
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


# Texts kept to be read later, in the reader's language ---------------------------------------------------
# A notification or an approval's summary is written once and read by people of either language, also
# after they switch. What is stored is the catalogue's key and its parameters (`frozen`), rendered when
# shown (`rendered`); a stored plain text (written before, or by a person) is shown as it is, or in the
# reader's language when the catalogue recognises it (`recognised`).
def frozen(text: Any) -> Any:
    """A text as JSON to render later: a plain value as it is; a lazy string of the catalogue
    (`_l("Approval requested: %(title)s", title=…)`) as {"msgid", "msgctxt"?, "params"?} with its
    parameters frozen too; any other lazy string (a task's title from its stored translations) as its
    rendering in each language of the app ({"texts": {language: text}})."""
    from flask_babel.speaklater import LazyString

    if text is None or isinstance(text, (str, bool, int, float)):
        return text
    if not isinstance(text, LazyString):
        return str(text)
    func, args, kwargs = text._func, text._args, text._kwargs
    name = getattr(func, "__name__", "")
    params = {key: frozen(value) for key, value in kwargs.items()}
    if func is rendered and len(args) == 1:  # `later(value)`: already frozen
        return args[0]
    if name == "gettext" and len(args) == 1 and isinstance(args[0], str):
        return {"msgid": args[0], **({"params": params} if params else {})}
    if name == "pgettext" and len(args) == 2 and all(isinstance(a, str) for a in args):
        return {"msgctxt": args[0], "msgid": args[1], **({"params": params} if params else {})}
    return {"texts": _in_every_language(text)}


def later(value: Any) -> Any:
    """A frozen text as a lazy string: rendered in the reader's language when shown, and frozen as it was
    when passed on (a notification about an approval carries the approval's title this way)."""
    from flask_babel.speaklater import LazyString

    return LazyString(rendered, value)


def _in_every_language(text: Any) -> dict[str, str]:
    try:
        from flask import current_app
        from flask_babel import force_locale

        languages = list(current_app.config.get("LANGUAGES", {})) or [SOURCE_LANGUAGE]
    except RuntimeError:  # no app context
        return {SOURCE_LANGUAGE: str(text)}
    out: dict[str, str] = {}
    for language in languages:
        with force_locale(language):
            out[language] = str(text)
    return out


def rendered(value: Any) -> str | None:
    """A `frozen` text in the current language (a plain text as it is)."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return str(value)
    if "texts" in value and isinstance(value["texts"], dict):
        texts = value["texts"]
        text = texts.get(current_language()) or texts.get(SOURCE_LANGUAGE) or next(iter(texts.values()), "")
        return str(text)
    msgid = value.get("msgid")
    if not isinstance(msgid, str):
        return ""
    params = {str(k): rendered(v) for k, v in (value.get("params") or {}).items()}
    context = value.get("msgctxt")
    return _filled(_catalogue_text(msgid, context if isinstance(context, str) else None), params, msgid)


def _catalogue_text(msgid: str, context: str | None = None) -> str:
    try:
        from flask_babel import get_translations

        translations = get_translations()
    except RuntimeError:  # no app or request context
        return msgid
    return str(translations.upgettext(context, msgid) if context else translations.ugettext(msgid))


_JINJA = r"\{\{.*?\}\}"


def _filled(template: str, params: dict[str, Any], fallback: str) -> str:
    """`template` with its `%(name)s` (and a diagram's `{{ expression }}`) placeholders filled."""
    import re

    text = template
    if any(key.startswith("{{") for key in params):
        text = re.sub(_JINJA, lambda m: str(params.get(m.group(0), m.group(0))), text)
    named = {k: v for k, v in params.items() if not k.startswith("{{")}
    if not named and "%(" not in text:
        return text
    # A number recognised in a stored text is text: "%(n)d" takes it as it was written.
    def as_text(template: str) -> str:
        return re.sub(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[dif]",
                      lambda m: f"%({m.group(1)})s" if isinstance(named.get(m.group(1)), str) else m.group(0),
                      template)

    text, fallback = as_text(text), as_text(fallback)
    try:
        return text % named
    except (KeyError, ValueError, TypeError):
        try:
            return fallback % named
        except (KeyError, ValueError, TypeError):
            return fallback


def recognised(text: str | None) -> str | None:
    """A stored plain text in the reader's language when the catalogue knows it: the text is a message
    id or one of its translations, or fills one of the catalogue's templates ("Approval requested:
    Quote Q-1 v1" fills "Approval requested: %(title)s"; the filling is recognised in turn). Otherwise
    the text as it is. For what was stored before texts were kept as keys (`frozen`)."""
    if not text:
        return text
    found = _recognise(text, 2)
    return rendered(found) if found is not None else text


def _recognise(text: str, depth: int) -> dict[str, Any] | None:
    index = _catalogue_index()
    if index is None:
        return None
    return _recognised_in(index, text, depth)


@functools.lru_cache(maxsize=4096)  # a page of bells reads the same kinds of text again and again
def _recognised_in(index: _Catalogue, text: str, depth: int) -> dict[str, Any] | None:
    msgid = index.exact.get(text)
    if msgid is not None:
        return {"msgid": msgid}
    if depth <= 0:
        return None
    best: tuple[int, dict[str, Any]] | None = None
    for prefix, pattern, template_id, groups, weight in index.templates:
        if best is not None and weight <= best[0]:
            break  # sorted by weight: nothing better can follow
        if not text.startswith(prefix):
            continue
        match = pattern.fullmatch(text)
        if match is None:
            continue
        params: dict[str, Any] = {}
        for group, key in groups.items():
            value = match.group(group)
            params[key] = _recognised_in(index, value, depth - 1) or value
        best = (weight, {"msgid": template_id, "params": params})
    return best[1] if best is not None else None


_INDEX: dict[str, Any] = {}
_PLACEHOLDER = r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|" + _JINJA
MIN_LITERAL = 5  # a template recognised in a stored text has this much text of its own (a CJK character: 2)


class _Catalogue:
    """What `recognised` reads (hashable by identity, so recognitions can be cached against it)."""

    def __init__(self, exact: dict[str, str], templates: list[Any]) -> None:
        self.exact, self.templates = exact, templates


def _catalogue_index() -> _Catalogue | None:
    """The app's catalogues: `exact` {text: msgid} of every message id and translation, and `templates`
    [(prefix, regex, msgid, groups, weight)] of those with placeholders, most specific first. Read once per
    process."""
    if "index" in _INDEX:
        return _INDEX["index"]  # type: ignore[no-any-return]
    try:
        from flask import current_app
        from flask_babel import force_locale
        from flask_babel import get_translations

        languages = [lang for lang in current_app.config.get("LANGUAGES", {}) if lang != SOURCE_LANGUAGE]
        catalogues: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        for language in languages:
            with force_locale(language):
                catalogue = getattr(get_translations(), "_catalog", {}) or {}
            for key, value in catalogue.items():
                if isinstance(key, str) and key and "\x04" not in key and isinstance(value, str):
                    catalogues.setdefault(key, key)
                    if value:
                        pairs.append((key, value))
    except RuntimeError:  # no app or request context: nothing to recognise with
        return None
    exact: dict[str, str] = dict(catalogues)
    for msgid, translation in pairs:
        exact.setdefault(translation, msgid)
    templates = []
    for msgid, template in [(m, m) for m in catalogues] + pairs:
        compiled = _template(template)
        if compiled is not None:
            prefix, pattern, groups, weight = compiled
            templates.append((prefix, pattern, msgid, groups, weight))
    templates.sort(key=lambda t: -t[4])
    _INDEX["index"] = _Catalogue(exact, templates)
    return _INDEX["index"]  # type: ignore[no-any-return]


def _template(template: str) -> tuple[str, Any, dict[str, str], int] | None:
    """(literal prefix, regex, {group: parameter}, weight) of a template with placeholders, or None."""
    import re

    # re.split with the placeholder captured whole and its name: [text, placeholder, name, text, …]
    parts = re.split(f"({_PLACEHOLDER})", template.replace("%%", "\0"))
    if len(parts) == 1:
        return None
    texts = [t.replace("\0", "%") for t in parts[0::3]]
    keys = [name or whole for whole, name in zip(parts[1::3], parts[2::3], strict=True)]  # {{ x }}: the token
    if len(set(keys)) != len(keys):
        return None  # a parameter used twice
    weight = sum(2 if ord(c) >= 0x2E80 else 1 for c in "".join("".join(texts).split()))  # a CJK character says more
    if weight < MIN_LITERAL:
        return None
    groups = {f"p{i}": key for i, key in enumerate(keys)}
    pattern = re.escape(texts[0]) + "".join(f"(?P<p{i}>.+?)" + re.escape(text) for i, text in enumerate(texts[1:]))
    return texts[0], re.compile(pattern, re.DOTALL), groups, weight
