"""What a process history line says, in words (one helper for every page that lists process events): the
task that was completed by its title as its assignee saw it, a message by what it means ("Order paid"),
a version move as "from version 1 to version 2"; never an element id, a message key or an unrendered
`{{ … }}` template. Jinja globals `event_text` and `task_titles` (registered by the workflow's wiring)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core.i18n import shown
from crm.extensions import db
from crm.workflow.models import HumanTask
from crm.workflow.models import event_label

_PLACEHOLDER = re.compile(r"\s*[:：]?\s*\{\{.*?\}\}|\{%.*?%\}")


def unrendered_free(text: str | None) -> str | None:
    """A name whose `{{ … }}` could not be filled, without it ("Approve: {{ step.title }}" -> "Approve")."""
    if not text or "{" not in text:
        return text
    return _PLACEHOLDER.sub("", text).strip(" :：·-") or None


def words(key: str | None) -> str:
    """A key in words in the reader's language: "order_paid" -> "Order paid" (translated when the catalogue
    has the phrase)."""
    text = (key or "").replace("_", " ").replace(".", " ").strip()
    return gettext(text[:1].upper() + text[1:]) if text else ""


def task_titles(events: Any) -> dict[str, str]:
    """The shown titles of the tasks the events completed, by task guid: one query for a page's history
    (`{% set titles = task_titles(events) %}`, then `event_text(e, titles=titles)`)."""
    done = [e for e in events or [] if e.kind == "task_completed" and e.task_guid]
    if not done:
        return {}
    rows = db.session.execute(select(HumanTask.task_guid, HumanTask.title, HumanTask.texts).where(
        HumanTask.instance_id.in_(sorted({e.instance_id for e in done})),  # the (instance, guid) unique index
        HumanTask.task_guid.in_(sorted({e.task_guid for e in done})))).all()
    return {guid: shown(texts, "title", title) or title for guid, title, texts in rows}


def event_text(event: Any, names: dict[str, str] | None = None, messages: dict[str, str] | None = None,
               titles: dict[str, str] | None = None) -> str:
    """The history line of one process event. `names` (element names by bpmn id, already rendered) and
    `messages` (what caught messages mean) come from the diagram when the page has it; `titles` from
    `task_titles`."""
    details = event.details or {}
    label = event_label(event.kind)
    if event.kind == "task_completed":
        title = (titles or {}).get(event.task_guid or details.get("task_guid") or "")
        title = title or unrendered_free((names or {}).get(event.bpmn_id or ""))
        return str(_l("Completed: %(task)s", task=title)) if title else label
    if event.kind in ("message_received", "message_held") and details.get("message"):
        meaning = unrendered_free((messages or {}).get(details["message"])) or words(details["message"])
        return meaning if event.kind == "message_received" else f"{label}: {meaning}"
    if event.kind == "migrated" and details.get("from_version") is not None:
        return str(_l("Moved from version %(old)s to version %(new)s", old=details.get("from_version"),
                      new=details.get("to_version")))
    element = unrendered_free((names or {}).get(event.bpmn_id or "")) if event.bpmn_id else None
    return f"{label}: {element}" if element else label
