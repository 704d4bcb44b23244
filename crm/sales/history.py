"""The operation log of an opportunity, a quote or an order as people read it: the field names by their labels (the
page's `field_labels`), enum values by their labels, and the ids the row holds by what the page's header
shows for them (its store, customer and people by name). The reader may see the row, so its own store,
customer and people are theirs to read; the log itself is never changed (crm.core.audit.readable)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from crm.core.audit import ids_in
from crm.core.audit import name_of
from crm.core.audit import readable
from crm.core.audit import timeline
from crm.extensions import db
from crm.workflow.tasks import queries as task_queries

PEOPLE = frozenset({"owner_id", "created_by_id"})


def history(object_type: str, row: Any) -> list[dict[str, Any]]:
    """The operation log of `row` (`crm.core.audit.timeline`), newest first."""
    return timeline(db.session, object_type, row.id)


def readable_history(entries: list[dict[str, Any]], row: Any,
                     show: Mapping[str, Callable[[Any], Any]]) -> list[dict[str, Any]]:
    """The `history` of `row` (an opportunity, a quote or an order: it has a store, a customer and an
    owner) with its store, customer and people by name, plus what `show` adds (enum labels, names of
    other rows, linked numbers)."""
    people = task_queries.user_names(ids_in(entries, PEOPLE))
    store = getattr(row, "store", None)
    store_name = store.name if store is not None else task_queries.store_names({row.store_id}).get(row.store_id)
    everything: dict[str, Callable[[Any], Any]] = {
        "store_id": name_of({row.store_id: store_name} if store_name else {}),
        "customer_id": name_of({row.customer_id: row.customer.name}),
        **dict.fromkeys(PEOPLE, name_of(people)),
    }
    everything.update(show)
    return readable(entries, everything)
