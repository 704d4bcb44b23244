"""/api/v1/kanban: the figures with previous values, the series, the rankings and the drill-down, in the
caller's scope (the hand-built data set of test_queries.py)."""

from __future__ import annotations

from tests.conftest import assert_problem

Q = "window=custom&date_from=2026-11-01&date_to=2026-11-07"


def test_figures_series_rankings_and_drill(api_org, world, call):
    resp = call("GET", f"/api/v1/kanban?{Q}", api_org.a_manager)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    figures = {f["key"]: f for f in body["figures"]}
    assert figures["amount"]["value"] == "900.00" and figures["amount"]["previous"] == "100.00"
    assert figures["amount"]["change"] == "800.0"
    assert (figures["repurchase_rate"]["numerator"], figures["repurchase_rate"]["denominator"]) == (1, 3)
    assert body["previous_window"] == {"first": "2026-10-25", "last": "2026-10-31"}

    series = call("GET", f"/api/v1/kanban/series?{Q}", api_org.a_manager).get_json()
    assert len(series["days"]) == 7 and series["amount"][2] == "200.00" and series["amount"][6] == "300.00"
    assert series["previous_amount"][3] == "100.00"

    ranks = call("GET", f"/api/v1/kanban/rankings?{Q}&by=quantity", api_org.a_manager).get_json()
    assert ranks["products"][0]["quantity"] == 7  # PL-100: 3 + 4
    assert {r["name"] for r in ranks["salespeople"]} == {"A Rep One", "A Rep Two"}
    assert {t["value"] for t in ranks["terminals"]} == {"pc", "mobile"}

    drill = call("GET", f"/api/v1/kanban/drill/orders?{Q}&limit=2", api_org.a_manager).get_json()
    assert drill["count"] == 3 and len(drill["items"]) == 2 and drill["next_cursor"]
    rest = call("GET", f"/api/v1/kanban/drill/orders?{Q}&limit=2&cursor={drill['next_cursor']}", api_org.a_manager)
    assert len(rest.get_json()["items"]) == 1
    assert call("GET", f"/api/v1/kanban/drill/nothing?{Q}", api_org.a_manager).status_code == 404


def test_the_salesperson_gets_their_own_and_bad_input_names_the_field(api_org, world, call):
    body = call("GET", f"/api/v1/kanban?{Q}", api_org.a_rep1).get_json()
    assert {f["key"]: f["value"] for f in body["figures"]}["amount"] == "500.00"
    assert_problem(call("GET", "/api/v1/kanban?window=fortnight", api_org.a_rep1), 422, "window")
    assert_problem(call("GET", f"/api/v1/kanban/rankings?{Q}&top=0", api_org.a_rep1), 422, "top")
