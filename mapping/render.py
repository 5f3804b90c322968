"""Folium maps of community assets over areas and patches, with every front-end file served locally.

Folium loads Leaflet, jQuery, Bootstrap, Font Awesome and its plugins from public CDNs,
which leaves a blank map offline or on a locked-down council network. Here every such
URL is rewritten to a file that ``npm ci`` installs from ``package.json`` into
``node_modules/`` and that ``web/vendor.py`` serves from our own Flask app.
:data:`VENDOR_FILES` is the allow-list for both sides: a URL that is not in it makes
:func:`localise_assets` raise, so a new folium release cannot quietly bring a CDN back.

This module builds maps only; it does no Flask, disk or network I/O (the category labels
default to the project's own ``data/categories.csv``, read once through
:mod:`mapping.taxonomy`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, Link

from mapping import schema
from mapping.errors import CRSError, MappingError, Problem, ValidationError
from mapping.template_free import _unused  # noqa: F401  (placeholder removed below)
