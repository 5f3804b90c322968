"""The directory on the real Newham demo: filters, distance, shortlist, CSV."""

import csv
import io
import re

from mapping.places.areas import patches_from_lookup
from mapping.places.store import load_area_layer, save_patch_set
from mapping.store.database import Store


def rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def csrf(client, path: str = "/directory/") -> str:  # type: ignore[no-untyped-def]
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_category_filter_counts(client) -> None:
    html = client.get("/directory/?category=food_bank").get_data(as_text=True)
    assert "2 results" in html
    assert len(rows(client.get("/directory/export.csv?category=school"))) == 115


def test_local_generative_only_keeps_generative_organisations(client) -> None:
    found = rows(client.get("/directory/export.csv?local=1"))
    assert len(found) == 18
    assert {r["ownership_class"] for r in found} == {"generative"}


def test_postcode_search_is_sorted_by_straight_line_distance(client) -> None:
    found = rows(client.get("/directory/export.csv?postcode=E15+4EH&within_km=0.5"))
    distances = [float(r["distance_m"]) for r in found]
    assert found and distances == sorted(distances) and max(distances) <= 500
    assert {r["distance_method"] for r in found} == {"straight line"}
    # The food bank at E15 4EH is at that postcode's own point.
    assert found[0]["name"] == "Highway Vineyard Church food bank" and distances[0] == 0.0
    html = client.get("/directory/?postcode=E15+4EH&within_km=0.5").get_data(as_text=True)
    assert "straight line" in html and "not walking routes" in html


def test_text_search(client) -> None:
    found = rows(client.get("/directory/export.csv?q=library"))
    assert found and all("library" in (r["name"]).lower() for r in found)


def test_bad_search_options_are_explained_not_crashed(client) -> None:
    response = client.get("/directory/?postcode=ZZ99+9ZZ&within_km=-3&category=knitting")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "postcode" in html and "between 0 and 50 km" in html and "unknown category" in html


def test_patch_filter_uses_the_patch_outline(client, demo_store: Store) -> None:
    import pandas as pd

    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        # A TEST patch set (synthetic, not Newham's): Beckton alone vs every other ward.
        lookup = pd.DataFrame({"code": wards["code"],
                               "patch": ["TEST Beckton" if n == "Beckton" else "TEST rest"
                                         for n in wards["area_name"]]})
        save_patch_set(session, "TEST patches", "wards_2023", patches_from_lookup(wards, lookup))
    beckton = rows(client.get("/directory/export.csv?patch=TEST+Beckton"))
    rest = rows(client.get("/directory/export.csv?patch=TEST+rest"))
    assert beckton and rest and len(beckton) + len(rest) == 410
    assert client.get("/directory/?patch=Nowhere").status_code == 422


def test_shortlist_add_print_export_and_remove(client) -> None:
    token = csrf(client)
    first = rows(client.get("/directory/export.csv?category=food_bank"))
    html = client.get("/directory/?category=food_bank").get_data(as_text=True)
    ids = re.findall(r'name="asset_id" value="(\d+)"', html)
    for asset_id in ids:
        response = client.post("/directory/shortlist", data={"csrf_token": token,
                                                             "asset_id": asset_id,
                                                             "action": "add"})
        assert response.status_code == 302
    page = client.get("/directory/shortlist").get_data(as_text=True)
    for r in first:
        assert r["name"] in page
    assert len(rows(client.get("/directory/shortlist.csv"))) == 2
    client.post("/directory/shortlist", data={"csrf_token": token, "asset_id": ids[0],
                                              "action": "remove"})
    assert len(rows(client.get("/directory/shortlist.csv"))) == 1


def test_shortlist_needs_the_csrf_token(client) -> None:
    assert client.post("/directory/shortlist", data={"asset_id": "1"}).status_code == 400


def test_shortlist_redirect_stays_on_site(client) -> None:
    token = csrf(client)
    response = client.post("/directory/shortlist", data={"csrf_token": token, "asset_id": "1",
                                                         "back": "https://evil.example/"})
    assert response.headers["Location"].endswith("/directory/shortlist")


def test_csv_cells_cannot_become_spreadsheet_formulas(client, demo_store: Store) -> None:
    import pandas as pd

    from mapping.register.importers import prepare_assets, write_assets

    prepared, problems = prepare_assets(pd.DataFrame({
        "external_id": ["f1"], "name": ['=HYPERLINK("http://evil.example","x")'],
        "category": ["peer_group"], "postcode": ["E15 4EH"]}))
    write_assets(demo_store, prepared, problems, file="t", rows=1, skip_invalid=False,
                 changed_by="test")
    found = rows(client.get("/directory/export.csv?category=peer_group"))
    assert found[0]["name"].startswith("'=HYPERLINK")


def test_odd_query_strings_do_not_break_the_export_link(client) -> None:
    response = client.get("/directory/?_method=POST&_external=1&category=food_bank")
    assert response.status_code == 200
    assert "/directory/export.csv?_method=POST&amp;_external=1&amp;category=food_bank" in \
        response.get_data(as_text=True)
