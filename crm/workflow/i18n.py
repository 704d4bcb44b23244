"""The words of the shipped processes in the reader's language.

Task titles and instructions are written in English in the BPMN files (an element's `name`,
`spiffworkflow:instructionsForEndUser`), often as templates over the task data ("Outbound of order
{{ order_number }}"). The template is what the message catalogue translates; the data fills it
afterwards, so one catalogue entry serves every order.

An inbox row is written once, when its task opens, and read by people of either language: `rendered_texts`
renders its title and instructions in every other language of the app at that moment (`human_task.texts`),
and `HumanTask.shown_title` picks the reader's. Element names in histories are rendered when shown
(`crm.workflow.admin.instances.element_states`). Text a process owner writes that the catalogue does not know is
shown as written.

`extract` is the Babel extractor that puts those strings into messages.pot (babel.cfg, `make messages`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from crm.core.i18n import SOURCE_LANGUAGE
from crm.core.i18n import translate
from crm.workflow.validation import BPMN_NS

__all__ = ["extract", "rendered_texts", "translate", "translated"]

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# Elements whose name a user reads: inbox titles, the history's lines, the instance page's active elements,
# the labels of the instance viewers' diagrams (flows and lanes too; never a message, an id that correlates).
NAMED = frozenset(f"{{{BPMN_NS}}}{tag}" for tag in (
    "process", "subProcess", "callActivity", "task", "userTask", "manualTask", "serviceTask", "scriptTask",
    "businessRuleTask", "sendTask", "receiveTask", "startEvent", "endEvent", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway",
    "eventBasedGateway", "sequenceFlow", "lane", "participant"))
INSTRUCTIONS = f"{{{SPIFF_NS}}}instructionsForEndUser"


def translated(template: str | None) -> str | None:
    """`template` in the current locale (the catalogue's entry, or the template itself)."""
    return translate(template) if template else template


def rendered_texts(title: str | None, instructions: str | None, data: dict[str, Any],
                   render: Callable[[str | None, dict[str, Any]], str | None]) -> dict[str, dict[str, str]] | None:
    """{language: {"title": …, "instructions": …}} for every language of the app but the source, where the
    catalogue translates the template; None when it translates nothing (a process owner's own words)."""
    try:
        from flask import current_app
        from flask_babel import force_locale
    except ImportError:  # pragma: no cover — Flask-Babel is a dependency
        return None
    try:
        languages = [lang for lang in current_app.config.get("LANGUAGES", {}) if lang != SOURCE_LANGUAGE]
    except RuntimeError:  # no app context
        return None
    out: dict[str, dict[str, str]] = {}
    for lang in languages:
        entry: dict[str, str] = {}
        with force_locale(lang):
            for key, template in (("title", title), ("instructions", instructions)):
                text = translated(template)
                if text and text != template:
                    rendered = render(text, data)
                    if rendered:
                        entry[key] = rendered[:300] if key == "title" else rendered
        if entry:
            out[lang] = entry
    return out or None


def _messages(root: ET.Element) -> Iterator[tuple[str, str]]:
    for element in root.iter():
        if element.tag in NAMED and element.get("name"):
            yield element.get("name", ""), element.tag
        elif element.tag == INSTRUCTIONS and element.text and element.text.strip():
            yield element.text.strip(), element.tag


def extract(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method for BPMN files: (line, function, message, comments) per name and instruction.
    Templates are extracted whole: the translation keeps their {{ placeholders }} as written."""
    text = fileobj.read().decode("utf-8")
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return
    lines = text.splitlines()
    for message in dict.fromkeys(m for m, _tag in _messages(root)):
        needle = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        line = next((n for n, row in enumerate(lines, 1) if needle in row or message in row), 1)
        comment = ["Keep the {{ placeholders }} as they are: they are filled from the task data."] if "{{" in message else []
        yield line, "gettext", message, comment
