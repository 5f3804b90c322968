"""Benchmark: the map page with 10,000 SYNTHETIC assets over Newham's real 2021 LSOAs.

The assets are synthetic (named "Synthetic asset NNNNN", owned by three synthetic
organisations, one per ownership class, or none) at random points inside the real Newham
outline (``newham/boundaries/lad_2022.geojson`` in the data folder). The area layers are
the real ones, loaded as the demo loads them. Prints, in one run:

(a) the naive baseline: folium with one ``folium.Marker`` (with a popup) per asset in a
    ``MarkerCluster``, over the same LSOAs as a ``folium.GeoJson``: build time, HTML size;
(b) our map (:func:`mapping.maps.asset_map.asset_map`, choropleth of population): build and render
    time and HTML size, and the whole Flask request for ``/`` (query, filters, map, page);
(c) headless Chromium (Debian's ``/usr/bin/chromium`` through Playwright) loading our page
    from a local Flask app: milliseconds from navigation start (``performance.now()``) to
    the first cluster element (a MutationObserver), with an empty and a warm browser
    cache, and until every asset is drawn, in a cluster or alone (checked each frame);
    the same for our map and the naive page served ready-made (browser time only);

and the ratios. Goals: HTML <= 0.5 MB, server <= 0.3 s, clusters <= 1 s.

Usage: python scripts/bench_map.py [--assets 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mapping import schema as S
from mapping.boroughs.demo import load_demo_areas
from mapping.config import Settings, load_settings
from mapping.maps._vendor import localise_assets
from mapping.maps.asset_map import asset_map
from mapping.places.store import load_area_layer
from mapping.register.importers import import_organisations, prepare_assets, write_assets
from mapping.register.records import assets_frame
from mapping.register.taxonomy import load_categories
from mapping.store.database import Store

CHROMIUM = "/usr/bin/chromium"
GOAL_HTML_BYTES = 500_000
GOAL_SERVER_S = 0.3
GOAL_CLUSTERS_MS = 1000.0
SYNTHETIC_ORGANISATIONS = pd.DataFrame({
    "external_id": ["synthetic-org-1", "synthetic-org-2", "synthetic-org-3"],
    "name": ["Synthetic co-operative (not real)", "Synthetic national plc (not real)",
             "Synthetic council service (not real)"],
    "legal_form": ["Registered Society", "Public Limited Company", "Council"],
})
# When the first cluster is in the page (a MutationObserver), and when every asset is drawn,
# in a cluster or alone (checked each frame). Ours are .asset-cluster and .asset-marker,
# folium's own .marker-cluster and img.leaflet-marker-icon.
PROBE = """
window.__firstClusterMs = null;
window.__allDrawnMs = null;
new MutationObserver(function (changes, observer) {
    if (document.querySelector(".asset-cluster, .marker-cluster")) {
        window.__firstClusterMs = performance.now();
        observer.disconnect();
    }
}).observe(document, {childList: true, subtree: true});
(function () {
    function drawn() {
        var n = document.querySelectorAll(".asset-marker, img.leaflet-marker-icon").length;
        var counts = document.querySelectorAll(".asset-cluster span, .marker-cluster span");
        for (var i = 0; i < counts.length; i++) { n += +counts[i].textContent; }
        return n;
    }
    function frame() {
        if (window.__firstClusterMs !== null && drawn() === EXPECTED) {
            window.__allDrawnMs = performance.now();
        } else {
            requestAnimationFrame(frame);
        }
    }
    requestAnimationFrame(frame);
})();
"""


def random_points_inside(outline: shapely.Geometry, n: int, rng: np.random.Generator
                         ) -> np.ndarray:
    """Give ``n`` (x, y) points drawn uniformly inside ``outline`` (rejection sampling)."""
    west, south, east, north = outline.bounds
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        xy = np.column_stack([rng.uniform(west, east, 2 * n), rng.uniform(south, north, 2 * n)])
        inside = xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]
        found.append(inside)
        count += len(inside)
    return np.concatenate(found)[:n]


def synthetic_assets(n: int, data_dir: Path, seed: int = 0) -> pd.DataFrame:
    """Give ``n`` SYNTHETIC asset rows at random points inside the real Newham outline."""
    rng = np.random.default_rng(seed)
    outline = gpd.read_file(data_dir / "newham/boundaries/lad_2022.geojson")
    points = random_points_inside(outline.to_crs(S.STORAGE_CRS).union_all(), n, rng)
    organisations = [*SYNTHETIC_ORGANISATIONS["external_id"], None]
    return pd.DataFrame({
        "external_id": [f"synthetic-{i:05d}" for i in range(n)],
        "name": [f"Synthetic asset {i:05d}" for i in range(n)],
        "category": rng.choice(load_categories()["code"].to_numpy(), n),
        "organisation_external_id": rng.choice(np.array(organisations, dtype=object), n,
                                               p=[0.35, 0.3, 0.1, 0.25]),
        "lon": [f"{v:.6f}" for v in points[:, 0]],
        "lat": [f"{v:.6f}" for v in points[:, 1]],
        "status": "active",
        "source": "survey",
        "description": "SYNTHETIC benchmark row, not real",
    })


def timed(work: Callable[[], object], runs: int) -> tuple[float, object]:
    """Give the median seconds of ``runs`` calls of ``work`` (after one warm-up) and its result."""
    result = work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def naive_page(areas: gpd.GeoDataFrame, assets: gpd.GeoDataFrame) -> str:
    """Give folium's plain way: one Marker with a popup per asset, in a MarkerCluster.

    Its scripts are served locally too (:func:`localise_assets`), so it loads offline.
    """
    m = folium.Map(tiles=None)
    m.options["max_zoom"] = 19  # with no tile layer, Leaflet.markercluster needs it
    west, south, east, north = (float(v) for v in areas.total_bounds)
    m.fit_bounds([[south, west], [north, east]])  # first, as ours does
    folium.GeoJson(areas[[S.AREA_CODE, S.AREA_NAME, "geometry"]], name="Areas").add_to(m)
    cluster = folium.plugins.MarkerCluster(name="Community assets").add_to(m)
    for name, point in zip(assets[S.NAME], assets.geometry, strict=True):
        folium.Marker([point.y, point.x], popup=folium.Popup(str(name))).add_to(cluster)
    return localise_assets(m, vendor_url="/vendor").get_root().render()


def our_page(areas: gpd.GeoDataFrame, assets: gpd.GeoDataFrame) -> str:
    m = asset_map(areas, assets, measure="population", areas_title="Census 2021 LSOAs")
    return m.get_root().render()


@dataclass
class BrowserTimes:
    """Milliseconds from navigation start, in Chromium."""

    first_cold: float
    """To the first cluster, with an empty browser cache."""
    first_warm: float
    """To the first cluster, with the vendor files cached (median)."""
    all_warm: float
    """Until every asset is drawn, in a cluster or alone (median, cached)."""


def browser_times(url: str, expected: int, runs: int) -> BrowserTimes:
    """Load ``url`` in a new headless Chromium ``runs + 1`` times (the first one cold)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: run 'bash scripts/setup.sh test'")
    first, every = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.add_init_script(PROBE.replace("EXPECTED", str(expected)))
        # Requests are watched, not intercepted: routing every one through Playwright
        # would add its own delay to what is measured.
        remote: list[str] = []
        page = context.new_page()
        page.on("request", lambda r: urlparse(r.url).hostname in ("127.0.0.1", "localhost")
                or r.url.startswith("data:") or remote.append(r.url))
        for _ in range(runs + 1):
            page.goto(url)
            page.wait_for_function("window.__allDrawnMs !== null", timeout=60_000)
            first.append(float(page.evaluate("window.__firstClusterMs")))
            every.append(float(page.evaluate("window.__allDrawnMs")))
        browser.close()
    if remote:
        raise SystemExit(f"the page asked for the internet: {remote[:3]}")
    return BrowserTimes(first[0], statistics.median(first[1:]), statistics.median(every[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data_dir = load_settings().data_dir
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        store = Store(url)
        store.upgrade()
        with store.transaction() as session:
            load_demo_areas(session, data_dir, progress=lambda _m: None)
        org_file = Path(tmp) / "synthetic_organisations.csv"
        SYNTHETIC_ORGANISATIONS.to_csv(org_file, index=False)
        import_organisations(store, org_file)
        raw = synthetic_assets(args.assets, data_dir)
        prepared, problems = prepare_assets(raw, file="synthetic")
        write_assets(store, prepared, problems, file="synthetic", rows=len(raw),
                     skip_invalid=False, changed_by="bench")
        with store.session() as session:
            assets = assets_frame(session, status=["active"])
            areas = load_area_layer(session, "lsoa_2021")
        print(f"{len(assets):,} SYNTHETIC assets over {len(areas)} real 2021 LSOAs; "
              f"ownership {assets[S.OWNERSHIP_CLASS].value_counts().to_dict()}", file=sys.stderr)

        naive_s, naive_html = timed(lambda: naive_page(areas, assets), 1)
        ours_s, ours_html = timed(lambda: our_page(areas, assets), args.runs)
        naive_bytes = len(str(naive_html).encode("utf-8"))
        ours_bytes = len(str(ours_html).encode("utf-8"))

        from werkzeug.serving import make_server

        from web import create_app

        settings = Settings(data_dir=data_dir, instance_dir=Path(tmp) / "instance",
                            database_url=url, secret_key="bench")
        app = create_app({"MAPPING_SETTINGS": settings, "RATELIMIT_ENABLED": False})
        app.add_url_rule("/bench/naive", "bench_naive", lambda: str(naive_html))
        app.add_url_rule("/bench/ours", "bench_ours", lambda: str(ours_html))
        client = app.test_client()
        request_s, response = timed(lambda: client.get("/"), args.runs)
        page_bytes = len(response.get_data())  # type: ignore[attr-defined]

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            base = f"http://127.0.0.1:{server.server_port}"
            page_times = browser_times(f"{base}/", len(assets), args.runs)
            ours_times = browser_times(f"{base}/bench/ours", len(assets), args.runs)
            naive_times = browser_times(f"{base}/bench/naive", len(assets), 2)
        finally:
            server.shutdown()
            thread.join(timeout=5)
        store.dispose()

    def goal(ok: bool) -> str:
        return "meets the goal" if ok else "MISSES the goal"

    print(f"(a) naive folium, one Marker per asset: build+render {naive_s:6.2f} s, "
          f"HTML {naive_bytes / 1e6:6.2f} MB")
    print(f"(b) our map, build+render:               {ours_s:6.3f} s, "
          f"HTML {ours_bytes / 1e6:6.3f} MB  ({goal(ours_s <= GOAL_SERVER_S)} "
          f"of {GOAL_SERVER_S} s; {goal(ours_bytes <= GOAL_HTML_BYTES)} of 0.5 MB)")
    print(f"    the whole Flask request for /:      {request_s:6.3f} s, "
          f"page {page_bytes / 1e6:6.3f} MB  ({goal(request_s <= GOAL_SERVER_S)}; "
          f"{goal(page_bytes <= GOAL_HTML_BYTES)})")
    print("(c) Chromium, ms from navigation start: first cluster (cold cache / cached), "
          "every asset drawn (cached)")
    for label, t in [("our page, served by the app at /", page_times),
                     ("our map alone, served ready-made", ours_times),
                     ("the naive page (a), ready-made", naive_times)]:
        print(f"    {label:34s} {t.first_cold:6.0f} / {t.first_warm:6.0f}   {t.all_warm:6.0f}")
    print(f"    goal: clusters within {GOAL_CLUSTERS_MS:.0f} ms of navigation on our page: "
          f"{goal(page_times.first_cold <= GOAL_CLUSTERS_MS)} cold, "
          f"{goal(page_times.all_warm <= GOAL_CLUSTERS_MS)} for every asset drawn (cached)")
    print(f"ratios, naive / ours: HTML {naive_bytes / ours_bytes:5.1f}x, "
          f"build {naive_s / ours_s:5.1f}x, every asset drawn in the browser "
          f"{naive_times.all_warm / ours_times.all_warm:5.1f}x")


if __name__ == "__main__":
    main()
