"""The directory on the real Newham demo: filters, distance, shortlist, CSV."""

import csv
import html
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


# --- the directory as a menu: pages, distances, help when nothing is found --------------


def text_of(html: str) -> str:
    """Give a page's main text, tags and scripts dropped, spaces squeezed."""
    main = re.sub(r"<script.*?</script>", " ", html.split('<main id="main">')[1], flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def test_results_come_25_a_page_with_links_that_keep_the_search(client) -> None:
    html = client.get("/directory/?postcode=E15+4BQ&category=school").get_data(as_text=True)
    text = text_of(html)
    assert "Showing 1–25 of 115 results, nearest to E15 4BQ first" in text
    assert html.count('class="directory-card"') == 25 and "Previous 25" not in text
    assert len(re.findall(r"\d+\.\d km away", text)) == 25
    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert next_url == "/directory/?postcode=E15+4BQ&category=school&page=2"
    second = client.get(next_url).get_data(as_text=True)
    assert "Showing 26–50 of 115 results" in text_of(second)
    assert '<ol class="directory-results" start="26">' in second
    previous = re.search(r'href="([^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")
    assert previous == "/directory/?postcode=E15+4BQ&category=school"
    last = text_of(client.get(next_url.replace("page=2", "page=99")).get_data(as_text=True))
    assert "Showing 101–115 of 115 results" in last and "Next 25" not in last
    # The CSV still has every result, whatever the page.
    assert len(rows(client.get("/directory/export.csv?category=school&page=3"))) == 115


def test_the_page_embeds_a_map_of_its_results_served_locally(client) -> None:
    html = client.get("/directory/?postcode=E15+4BQ&category=food_bank").get_data(as_text=True)
    assert 'aria-label="Map of the results on this page"' in html and "L.map(" in html
    assert "the black dot is E15 4BQ" in html
    assert not re.search(r'(src|href)="https?://', html.split("<body>")[0])


def test_nothing_found_says_why_and_links_to_related_categories(client) -> None:
    response = client.get("/directory/?postcode=E15+4BQ&category=day_opportunities")
    html = response.get_data(as_text=True)
    text = text_of(html)
    assert response.status_code == 200 and "0 results" in text
    assert "The directory has no day opportunities recorded yet." in text
    links = dict(re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', html))
    assert "Residential care instead" in links.values()
    assert "Food bank instead" not in links.values()  # another group of the taxonomy
    for url in links:
        url = url.replace("&amp;", "&")
        assert "postcode=E15+4BQ" in url
        assert "km away" in text_of(client.get(url).get_data(as_text=True)), url


def test_nothing_near_enough_offers_a_wider_distance(client) -> None:
    html = client.get("/directory/?postcode=E15+4BQ&category=food_bank&within_km=0.5"
                      ).get_data(as_text=True)
    assert "Nothing that matches is within 0.5 km of E15 4BQ." in text_of(html)
    wider = re.search(r'<a href="([^"]+)">Within (\d+) km of E15 4BQ</a>', html)
    assert wider is not None
    found = text_of(client.get(wider.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert re.search(r"[12] results?, nearest to E15 4BQ first", found)


def test_nothing_local_offers_the_search_without_local_only(client) -> None:
    html = client.get("/directory/?category=school&local=1").get_data(as_text=True)
    assert "run by a local generative organisation or the council" in text_of(html)
    assert re.search(r'<a href="/directory/\?category=school">Including providers that are not '
                     r"local generative</a> — 115 results", html)


def test_names_and_values_are_words_never_codes_or_nan(client, demo_store: Store) -> None:
    import pandas as pd

    from mapping.register.importers import prepare_assets, write_assets

    prepared, problems = prepare_assets(pd.DataFrame({
        "external_id": ["osm:way_or_relation/4962595"], "category": ["place_of_worship"],
        "name": ["Unnamed place of worship (OSM way_or_relation 4962595)"],
        "postcode": ["E15 4EH"]}))
    write_assets(demo_store, prepared, problems, file="t", rows=1, skip_invalid=False,
                 changed_by="test")
    html = client.get("/directory/?q=4962595").get_data(as_text=True)
    text = text_of(html)
    assert "Unnamed place of worship (OpenStreetMap way or relation 4962595)" in text
    assert "way_or_relation" not in text and "place_of_worship" not in text
    for url in ("/directory/?category=school", "/directory/?postcode=E15+4BQ&page=4"):
        text = text_of(client.get(url).get_data(as_text=True))
        assert not re.search(r"\b(nan|None|NaT)\b", text), url
        assert "Ownership unknown" in text and ">unknown<" not in text


def test_problems_name_the_form_field_not_its_code(client) -> None:
    text = text_of(client.get("/directory/?within_km=99").get_data(as_text=True))
    assert "Within (km): give a distance between 0 and 50 km" in text and "within_km" not in text


def test_the_printed_shortlist_has_distances_the_date_and_a_static_map(client) -> None:
    from datetime import date

    token = csrf(client)
    html = client.get("/directory/?postcode=E15+4BQ&category=food_bank").get_data(as_text=True)
    ids = re.findall(r'name="asset_id" value="(\d+)"', html)
    for asset_id in ids:
        client.post("/directory/shortlist", data={"csrf_token": token, "asset_id": asset_id})
    page = client.get("/directory/shortlist").get_data(as_text=True)
    text = text_of(page)
    today = date.today()
    assert f"Made on {today.day} {today:%B %Y}, for someone near E15 4BQ." in text
    distances = re.findall(r"(\d+\.\d) km from E15 4BQ", text)
    assert len(distances) == 2 and float(distances[0]) < float(distances[1])  # as shortlisted
    svg = re.search(r"<svg.*?</svg>", page, flags=re.S).group(0)
    assert svg.count("<circle") == 2 and ">E15 4BQ</text>" in svg and "<image" not in svg
    assert "Opening times</dt><dd>not recorded" in page and not re.search(r"\bnan\b", text)
    # Another postcode, typed on the shortlist page; and one that has no point.
    assert "km from E6 5YA" in text_of(client.get("/directory/shortlist?postcode=e6+5ya")
                                       .get_data(as_text=True))
    other = text_of(client.get("/directory/shortlist?postcode=ZZ99+9ZZ").get_data(as_text=True))
    assert "No distances:" in other and "km from" not in other
    with_distance = rows(client.get("/directory/shortlist.csv?postcode=E15+4BQ"))
    assert [r["distance_method"] for r in with_distance] == ["straight line"] * 2


def test_the_way_back_from_the_shortlist_keeps_the_search_but_not_a_huge_query(client) -> None:
    client.get("/directory/?category=food_bank&local=0&utm_source=" + "x" * 3000
               + "&category=food_bank" * 200 + "&q=" + "pantry+" * 100)
    cookie = client.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 1000  # browsers drop cookies over 4 KB
    page = client.get("/directory/shortlist").get_data(as_text=True)
    back = re.search(r'href="(/directory/\?[^"]*)"', page)
    assert back is not None
    link = html.unescape(back.group(1))
    assert link.count("category=food_bank") == 1 and "utm_source" not in link
    assert "q=pantry" in link and len(link) < 400
