"""The shared saved views (crm/core/saved_views): one user's named filters per list, validated before
writing, replaced under the same name, kept apart per user and per list."""

from __future__ import annotations

from typing import Any

import pytest

from crm.core import saved_views
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.extensions import db


def test_save_replace_list_and_delete(org: Any) -> None:
    view = saved_views.save_view("customers", " Pool ", "?owner=pool&cursor=xyz&view_id=3&q=a", ["tags"] * 40,
                                 actor=org.a_rep1)
    assert (view.name, view.query, len(view.columns)) == ("Pool", "owner=pool&q=a", 30)
    again = saved_views.save_view("customers", "Pool", "owner=me", [], actor=org.a_rep1)
    assert again.id == view.id and again.query == "owner=me" and again.columns == []
    # The same name on another list or of another user is another view.
    cases = saved_views.save_view("aftersales_cases", "Pool", "type=reissue", [], actor=org.a_rep1)
    theirs = saved_views.save_view("customers", "Pool", "", [], actor=org.a_rep2)
    assert len({view.id, cases.id, theirs.id}) == 3
    assert [v.id for v in saved_views.views_of("customers", org.a_rep1)] == [view.id]
    assert [v.id for v in saved_views.views_of("aftersales_cases", org.a_rep1)] == [cases.id]

    saved_views.delete_view("customers", view.id, actor=org.a_rep1)
    assert saved_views.views_of("customers", org.a_rep1) == []
    assert saved_views.views_of("customers", org.a_rep2) == [theirs]


@pytest.mark.parametrize("view_id", ["abc", None, 0, -1, 2**31, "9999"])
def test_a_bad_or_missing_id_is_not_found(org: Any, view_id: Any) -> None:
    with pytest.raises(NotFound):
        saved_views.get_view("customers", view_id, actor=org.a_rep1)


def test_only_the_owner_of_the_list_s_view_gets_it(org: Any) -> None:
    view = saved_views.save_view("customers", "Mine", "owner=me", [], actor=org.a_rep1)
    assert saved_views.get_view("customers", str(view.id), actor=org.a_rep1) is view
    for list_key, actor in (("customers", org.a_rep2), ("customers", org.hq_admin), ("aftersales_cases", org.a_rep1)):
        with pytest.raises(NotFound):
            saved_views.get_view(list_key, view.id, actor=actor)
        with pytest.raises(NotFound):
            saved_views.delete_view(list_key, view.id, actor=actor)
    assert db.session.get(saved_views.SavedView, view.id) is not None


def test_every_problem_is_reported_at_once(org: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        saved_views.save_view("customers", "", "x" * 2001, [], actor=org.a_rep1)
    assert set(caught.value.errors) == {"name", "query"}
    with pytest.raises(ValidationFailed) as caught:
        saved_views.save_view("customers", ["a list"], None, [], actor=org.a_rep1)
    assert set(caught.value.errors) == {"name"}
    assert saved_views.views_of("customers", org.a_rep1) == []
