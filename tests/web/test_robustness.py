"""No request crashes the server: every page and download answers nonsense with a 4xx, not a 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from mapping.config import Settings
from mapping.spend.store import import_spend
from mapping.store.database import Store
from web import create_app

#: Every query parameter the views read, each given a value no view can use as it stands.
NONSENSE = {
    name: value for name, value in zip(
        ["category", "layer", "k", "tolerance", "seed", "measure", "set", "compare", "start",
         "whole", "cutoff", "method", "add", "budget", "grant", "imd", "generative", "a", "b",
         "bbox", "near", "page", "limit", "status", "q", "patch", "ownership", "postcode", "band",
         "subsector", "class", "locality", "supplier", "demand", "shade",
         # the Open Referral feed's
         "per_page", "search", "taxonomy_term_id", "taxonomy_id", "minimum_age", "maximum_age",
         "start_time", "end_time", "day", "modified_after", "proximity"],
        ["<script>", "99999999999999999999", "nan", "-1", "1,2", "x"] * 8, strict=False)
}


@pytest.fixture
def open_app(settings: Settings, demo_store: Store, data_dir: Path) -> Flask:
    import_spend(demo_store, data_dir / "spend" / "lambeth" /
                 "lambeth_payments_over_500_2012-06_raw.csv", name="Lambeth", imported_by="test")
    return create_app({"TESTING": True, "MAPPING_SETTINGS": settings, "RATELIMIT_ENABLED": False})


def _get_routes(app: Flask) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(("/vendor", "/static")):
            continue
        url = re.sub(r"<id:[a-z_]+>", "1", rule.rule)
        urls.append(re.sub(r"<[a-z_:]+>", "png", url))
    return urls


def test_every_page_answers_nonsense_without_a_server_error(open_app: Flask) -> None:
    client = open_app.test_client()
    urls = _get_routes(open_app)
    assert len(urls) > 40 and "/lots" in urls and "/spend/1/payments" in urls
    for url in urls:
        for query in (NONSENSE, {}):
            response = client.get(url, query_string=query)
            assert response.status_code < 500, (url, query, response.status_code)
            assert b"Traceback" not in response.get_data()
        missing = re.sub(r"/1(/|$)", r"/999999\1", url)
        if missing != url:  # an unknown id: not found (or, for staff pages, sign in first)
            assert client.get(missing).status_code in (302, 404), missing
