"""Front-end files served locally: the allow-list, and folium's CDN links rewritten to it.

"Assets" here are front-end files (scripts, styles, fonts), not community assets.

Folium loads Leaflet, jQuery, Bootstrap, Font Awesome and its plugins from public CDNs,
which leaves a blank map offline or on a locked-down council network. Here every such
URL is rewritten to a file that ``npm ci`` installs from ``package.json`` into
``node_modules/`` and that ``web/vendor.py`` serves from our own Flask app.
:data:`VENDOR_FILES` is the allow-list for both sides: a URL that is not in it makes
:func:`localise_assets` raise, so a new folium release cannot quietly bring a CDN back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import folium
import folium.plugins
from branca.element import Element, Figure, Link

from mapping.errors import MappingError

_AWESOME_MARKERS_CDN: Final = "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"


#: Every CDN URL that folium 0.20 (the map, GeoJson, Choropleth's legend, LayerControl)
#: and the plugins MarkerCluster, FastMarkerCluster, Fullscreen and Search load, mapped to
#: the file in ``node_modules/`` that replaces it. Versions are pinned in ``package.json``.
VENDOR_FILES: Final[dict[str, str]] = {
    # folium.Map
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/dist/leaflet.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/dist/js/bootstrap.bundle.min.js",
    _AWESOME_MARKERS_CDN + "leaflet.awesome-markers.js":
        "drmonty-leaflet-awesome-markers/js/leaflet.awesome-markers.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/dist/leaflet.css",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "@neos21/bootstrap3-glyphicons/dist/css/bootstrap3-glyphicons.min.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "@fortawesome/fontawesome-free/css/all.min.css",
    _AWESOME_MARKERS_CDN + "leaflet.awesome-markers.css":
        "drmonty-leaflet-awesome-markers/css/leaflet.awesome-markers.css",
    # folium.plugins.MarkerCluster and FastMarkerCluster
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "leaflet.markercluster/dist/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "leaflet.markercluster/dist/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
    # folium.plugins.Fullscreen (npm ships no .min.js; jsDelivr minifies on the fly)
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "leaflet.fullscreen/Control.FullScreen.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "leaflet.fullscreen/Control.FullScreen.css",
    # folium.plugins.Search
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js":
        "leaflet-search/dist/leaflet-search.min.js",
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css":
        "leaflet-search/dist/leaflet-search.min.css",
    # branca's colour-scale legend (folium.Choropleth); added to the page while it renders
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js": "d3/d3.min.js",
}


#: CDN files that no npm package ships and that our maps do not use: the links are removed
#: rather than served. Each value says what stops working without the file.
DROPPED_ASSETS: Final[dict[str, str]] = {
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": (
        "the fa-rotate-<angle> classes of folium.Icon(angle=...); no npm package ships them, "
        "and our maps draw circle markers, so a rotated icon would show unrotated"
    ),
}


#: Folders (relative to ``node_modules/``) of files the allow-listed CSS loads by relative
#: URL: Leaflet's layer and marker images, web fonts, marker sprites and search icons.
VENDOR_DIRS: Final[tuple[str, ...]] = (
    "leaflet/dist/images/",
    "@fortawesome/fontawesome-free/webfonts/",
    "@neos21/bootstrap3-glyphicons/dist/fonts/",
    "drmonty-leaflet-awesome-markers/css/images/",
    "leaflet-search/images/",
)


#: Single files the allow-listed CSS loads by relative URL, outside :data:`VENDOR_DIRS`.
VENDOR_REFERENCED_FILES: Final[tuple[str, ...]] = ("leaflet.fullscreen/icon-fullscreen.svg",)


_ALLOWED_FILES: Final = frozenset(VENDOR_FILES.values()) | frozenset(VENDOR_REFERENCED_FILES)


def is_vendor_file(path: str) -> bool:
    """Give whether ``path`` (relative to ``node_modules/``) may be served to browsers.

    A path is allowed when it is a file of :data:`VENDOR_FILES` or
    :data:`VENDOR_REFERENCED_FILES`, the source map (``.map``) of one, or a file under a
    folder of :data:`VENDOR_DIRS`. Anything with an empty, ``.`` or ``..`` segment, a
    backslash or a leading ``/`` is refused outright.

    Parameters
    ----------
    path
        A ``/``-separated path as it appears after ``/vendor/`` in a URL.
    """
    if not path or "\\" in path or path.startswith("/") or "\x00" in path:
        return False
    if any(part in ("", ".", "..") for part in path.split("/")):
        return False
    if path in _ALLOWED_FILES or path.removesuffix(".map") in _ALLOWED_FILES:
        return True
    return any(path.startswith(folder) for folder in VENDOR_DIRS)


def _is_external(url: str) -> bool:
    return url.lower().startswith(("http://", "https://", "//"))


def _local_url(url: str, base: str) -> str | None:
    """Give the local URL for ``url``, ``None`` if its link is to be dropped; raise if unknown."""
    if not _is_external(url):
        return url
    if url in VENDOR_FILES:
        return f"{base}/{VENDOR_FILES[url]}"
    if url in DROPPED_ASSETS:
        return None
    raise MappingError(
        f"the map would load {url} from the internet; add it to VENDOR_FILES in "
        "mapping/maps/_elements.py (re-exported by mapping.maps.asset_map) "
        "with the npm package that ships it (package.json), or drop the element that needs it"
    )


def _localised_links(links: list[tuple[str, str]], base: str) -> list[tuple[str, str]]:
    out = []
    for name, url in links:
        local = _local_url(url, base)
        if local is not None:
            out.append((name, local))
    return out


def _localise_header(figure: Figure, base: str) -> None:
    """Rewrite (or drop) the script and style links already in the page header."""
    for name, child in list(figure.header._children.items()):
        if isinstance(child, Link) and isinstance(child.url, str):
            local = _local_url(child.url, base)
            if local is None:
                del figure.header._children[name]
            else:
                child.url = local


def _walk(root: Element) -> Iterator[Element]:
    stack, seen = [root], set()
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        yield element
        stack.extend(element._children.values())


class _LocalAssetsGuard(Element):
    """Localise header links that elements add only while the page renders.

    branca's colour-scale legend, for one, adds its d3 link in ``render()``. A Figure first
    renders each of its children in order (its header, body and script parts, then the
    map, which fills those parts) and only then writes the page. This element is the
    figure's last child, so it sees every link before the header is written; what it
    renders itself is not part of the page.
    """

    def __init__(self, base: str) -> None:
        super().__init__()
        self._name = "LocalAssetsGuard"
        self.base = base

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        if isinstance(figure, Figure):
            _localise_header(figure, self.base)
        return ""


def localise_assets(m: folium.Map, *, vendor_url: str) -> folium.Map:
    """Give the same map with every CDN script and style link pointed at ``vendor_url``.

    Walks the map's whole element tree, from its figure down (plugins included), and gives
    each element that has ``default_js`` or ``default_css`` its own rewritten lists (the
    class-level lists folium shares between maps are left alone). Links to
    :data:`DROPPED_ASSETS` are removed. A guard element is added to the map's figure, after
    the map, so that links added while the page renders (branca's legend adds d3 then) are
    rewritten or refused too. Call this after the last element has been added.

    The map is changed in place and returned: it is meant for a map the caller has just
    built, as :func:`asset_map` does.

    Parameters
    ----------
    m
        The map to change.
    vendor_url
        URL prefix under which ``node_modules/`` is served, e.g. ``"/vendor"``.

    Raises
    ------
    MappingError
        If an element links to an ``http(s)://`` (or ``//``) URL that is in neither
        :data:`VENDOR_FILES` nor :data:`DROPPED_ASSETS`. The message names the URL.
    """
    base = vendor_url.rstrip("/")
    root = m.get_root()
    if not isinstance(root, Figure):
        root = Figure()
        root.add_child(m)
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if links:
                setattr(element, attr, _localised_links(list(links), base))
    _localise_header(root, base)
    root._children.pop("local_assets_guard", None)  # keep the guard last if called again
    root.add_child(_LocalAssetsGuard(base), name="local_assets_guard")
    return m
