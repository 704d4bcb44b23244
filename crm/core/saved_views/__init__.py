"""Saved list views: a user's named filters (a query string) and chosen columns for one list.

One table for every list, told apart by `list_key` ("customers", "aftersales_cases", ...). A view belongs
to its user alone: another user (or another list) gets 404, as for anything outside one's scope. The pages
of a list call `views.add_routes` once (save and delete under `<list>/views`), `views.open_view` at the top
of the list page (opening a view redirects to its filters), and render `macros/saved_views.html` (the "Saved views"
menu, the save form, the delete button). No business knowledge: the list's own filters parse the query.
"""

from crm.core.saved_views.models import SavedView as SavedView
from crm.core.saved_views.services import delete_view as delete_view
from crm.core.saved_views.services import get_view as get_view
from crm.core.saved_views.services import save_view as save_view
from crm.core.saved_views.services import views_of as views_of
