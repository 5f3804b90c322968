"""The map page: filters in the query string, the choropleth's legend, plain messages, labels.

Counts are those of the real Newham demo (410 active assets: 115 schools, 103 places of
worship, 46 GP practices, 15 co-operatives, 12 community spaces, 2 food banks and 117
registered CQC care services; 18 of them generative, 114 extractive, 278 not yet classified).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import geopandas as gpd
import pandas as pd
import pytest
from flask.testing import FlaskClient

from mapping import schema as S
from mapping.places.areas import patches_from_lookup
from mapping.places.store import load_area_layer, save_patch_set
from mapping.register.importers import prepare_assets, write_assets
from mapping.register.records import assets_frame
from mapping.store.database import Store

SUMMARY = re.compile(r'<p class="summary" id="map-summary">(\d+) ([^<:]*?)(?: in [^<:]*)?:')


def page(client: FlaskClient, query: str = "") -> str:
    response = client.get("/" + query)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def shown(html: str) -> tuple[int, str]:
    """Give the number of assets in the page summary, and the words after it."""
    found = SUMMARY.search(html)
    assert found, "the page has no asset summary"
    return int(found.group(1)), found.group(2)


def legend(html: str) -> dict[str, list[dict[str, object]]]:
    found = re.search(r"var spec = (\{.*?\});\n", html)
    assert found, "the map has no legend"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def notices(html: str) -> str:
    found = re.search(r'<div class="notices" role="status">(.*?)</div>', html, re.S)
    return "" if found is None else re.sub(r"\s+", " ", found.group(1))


def test_default_view_is_every_active_asset_over_lsoas_by_population(client) -> None:
    html = page(client)
    assert shown(html) == (410, "active assets")
    assert '<option value="lsoa_2021" selected>' in html
    assert '<option value="population" selected>' in html
    assert notices(html) == ""


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("?category=school", 115),
        ("?category=School", 115),  # a label, any case, is read as its code
        ("?category=school&category=gp_practice", 161),
        ("?category=food_bank", 2),
        ("?ownership=generative", 18),
        ("?ownership=unknown", 278),
        ("?ownership=generative&ownership=unknown", 296),
        ("?ownership=extractive", 114),
        ("?category=cooperative&ownership=generative", 15),
        ("?status=active", 410),
    ],
)
def test_each_filter_narrows_the_count(client, query: str, count: int) -> None:
    html = page(client, query)
    assert shown(html)[0] == count
    assert notices(html) == ""


def test_the_form_keeps_the_filters_chosen(viewer_client) -> None:
    html = page(viewer_client,
                "?category=school&ownership=generative&status=any&measure=imd_decile")
    assert 'name="category" value="school" checked' in html
    assert 'name="category" value="gp_practice" >' in html
    assert 'name="ownership" value="generative" checked' in html
    assert '<option value="any" selected>' in html
    assert '<option value="imd_decile" selected>' in html
    assert "in School" in html


def test_status_filter(client, viewer_client, demo_store: Store) -> None:
    frame = pd.DataFrame({
        "external_id": ["closed-1", "proposed-1"], "name": ["A closed hall", "A proposed café"],
        "category": ["community_space", "memory_cafe"], "status": ["closed", "proposed"],
        "lon": ["0.02", "0.03"], "lat": ["51.53", "51.54"],
    })
    prepared, problems = prepare_assets(frame)
    write_assets(demo_store, prepared, problems, file="t", rows=2, skip_invalid=False,
                 changed_by="test")
    # Proposed and closed assets are for staff only.
    anonymous = page(client, "?status=any")
    assert shown(anonymous) == (410, "active assets")
    assert "signed-in staff only" in anonymous and "A proposed café" not in anonymous
    assert 'name="status"' not in page(client)
    client = viewer_client
    assert shown(page(client)) == (410, "active assets")
    assert shown(page(client, "?status=closed")) == (1 + 156, "closed assets")  # 156 CQC
    assert shown(page(client, "?status=closed&status=proposed")) == (2 + 156, "closed or proposed assets")
    assert shown(page(client, "?status=any")) == (412 + 156, "assets (any status)")


def test_patch_filter_counts_the_assets_inside_the_patch(client, demo_store: Store) -> None:
    """A TEST patch set (the first 12 wards by code, and the rest); not Newham's own."""
    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        codes = sorted(wards[S.AREA_CODE])
        lookup = pd.DataFrame({S.AREA_CODE: codes,
                               S.PATCH: ["Test patch A"] * 12 + ["Test patch B"] * (len(codes) - 12)})
        save_patch_set(session, "Test patches", "wards_2023", patches_from_lookup(wards, lookup))
    with demo_store.session() as session:
        active = assets_frame(session, status=["active"])
    in_a = wards[wards[S.AREA_CODE].isin(codes[:12])]
    expected = gpd.sjoin(active, in_a, predicate="intersects")["id"].nunique()
    assert 0 < expected < 410

    html = page(client, "?patch_set=Test+patches&patch=Test+patch+A")
    assert shown(html)[0] == expected
    assert "in patch “Test patch A”" in html
    assert '<option value="Test patch A" selected>' in html
    html_b = page(client, "?patch=Test+patch+B")  # the first (only) patch set by default
    assert shown(html_b)[0] == 410 - expected - _outside(active, wards)
    assert shown(page(client, "?patch=Test+patch+A&category=school"))[0] < expected


def _outside(assets: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> int:
    """Give how many assets lie in no ward (outside the borough)."""
    return len(assets) - gpd.sjoin(assets, wards, predicate="intersects")["id"].nunique()


def test_measure_choice_changes_the_legend(client) -> None:
    population = legend(page(client, "?measure=population"))["areas"]
    assert [a["title"] for a in population] == ["Population"]
    rows = population[0]["rows"]
    assert 2 <= len(rows) <= 5  # type: ignore[arg-type]
    assert all("–" in r[0] for r in rows)  # type: ignore[index, union-attr]
    older = legend(page(client, "?measure=population_65_plus"))["areas"]
    assert older[0]["title"] == "People aged 65 and over"
    assert older[0]["rows"] != rows

    imd_html = page(client, "?measure=imd_decile")
    imd = legend(imd_html)["areas"][0]
    assert imd["title"] == "IMD 2019 decile"
    assert "1 = most deprived" in imd["note"]  # type: ignore[operator]
    labels = [r[0] for r in imd["rows"]]  # type: ignore[union-attr]
    assert labels[0] == "1 most deprived" and labels[-1] == "10 least deprived"
    assert len(labels) == 10
    colours = [r[1] for r in imd["rows"]]  # type: ignore[union-attr]
    assert _lightness(colours[0]) < _lightness(colours[-1])  # deprived is darker
    assert "How IMD was mapped" in imd_html and "same LSOA code in 2011" in imd_html

    assert legend(page(client, "?measure=none"))["areas"] == []
    assert "Areas drawn as outlines." in page(client, "?measure=none")


def _lightness(colour: object) -> int:
    text = str(colour)
    return sum(int(text[i:i + 2], 16) for i in (1, 3, 5))


def test_a_layer_without_figures_is_drawn_as_outlines_and_says_so(client) -> None:
    html = page(client, "?layer=wards_2023&measure=imd_decile")
    assert legend(html)["areas"] == []
    assert "has no imd 2019 decile figures" in notices(html)
    assert "outlines only" in notices(html)
    assert shown(html)[0] == 410
    # the 2011 LSOAs have IMD as published, with no note on how it was mapped
    older = page(client, "?layer=lsoa_2011&measure=imd_decile")
    assert legend(older)["areas"][0]["title"] == "IMD 2019 decile"
    assert "How IMD was mapped" not in older


def test_unknown_values_give_a_plain_message_not_an_error(client) -> None:
    html = page(client, "?category=unicorn&category=school&ownership=nope&status=bogus"
                "&layer=xyz&measure=bad&patch=nowhere&patch_set=none")
    text = notices(html)
    for value in ("unicorn", "nope", "bogus", "xyz", "bad", "nowhere", "none"):
        assert f"“{value}”" in text, value
    assert shown(html) == (115, "active assets")  # the known category still applies
    assert '<option value="lsoa_2021" selected>' in html


def test_query_values_are_escaped(client) -> None:
    html = page(client, "?category=%3Cscript%3Ealert(1)%3C/script%3E&layer=%3Cb%3E")
    assert "<script>alert(1)" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_page_loads_nothing_from_the_internet(client) -> None:
    for query in ("", "?measure=imd_decile", "?layer=wards_2023"):
        html = page(client, query)
        urls = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
        assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
        assert "https://" not in html and "http://" not in html


class _Fields(HTMLParser):
    """Collect the map form's fields and what labels them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.legends = 0
        self.fieldsets = 0
        self._in_form = False
        self._labels_open = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "map-filters" in a.get("class", ""):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "label":
            self._labels_open += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("select", "input") and a.get("type") not in ("submit", "hidden"):
            self.fields.append({**a, "wrapped": "yes" if self._labels_open else ""})
        elif tag == "fieldset":
            self.fieldsets += 1
        elif tag == "legend":
            self.legends += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._labels_open:
            self._labels_open -= 1
        elif tag == "form":
            self._in_form = False


def test_every_form_field_is_labelled_and_named_after_its_query_parameter(
        viewer_client, demo_store: Store) -> None:
    client = viewer_client
    with demo_store.transaction() as session:
        wards = load_area_layer(session, "wards_2023")
        lookup = pd.DataFrame({S.AREA_CODE: wards[S.AREA_CODE], S.PATCH: "Test patch"})
        save_patch_set(session, "Test patches", "wards_2023", patches_from_lookup(wards, lookup))
    parser = _Fields()
    parser.feed(page(client))
    assert parser.fields
    for field in parser.fields:
        assert field["wrapped"] or field.get("id") in parser.label_for, field
    assert parser.fieldsets == parser.legends >= 2
    names = {f["name"] for f in parser.fields}
    assert names == {"layer", "measure", "status", "ownership", "category", "patch_set", "patch"}
