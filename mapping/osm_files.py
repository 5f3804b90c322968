"""OpenStreetMap XML files on disk: plain, gzip or bzip2, each checked to be OSM before it is parsed.

Shared by the asset seeding (:mod:`mapping.register.osm`) and the walking network
(:mod:`mapping.access.walk_graph`); a file that is not OSM XML is a
:class:`~mapping.errors.ValidationError` that names it.
"""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import iterparse

from mapping.errors import Problem, ValidationError


def osm_file_error(path: Path, reason: str) -> ValidationError:
    return ValidationError([Problem(reason, file=str(path))], summary="Cannot read OSM XML file")


def open_osm_file(path: Path) -> gzip.GzipFile | bz2.BZ2File | IO[bytes]:
    """Give an OSM XML file opened for reading bytes: plain, ``.gz`` or ``.bz2``.

    The same compressions osmnx's XML readers accept.
    """
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    return path.open("rb")


def check_osm_root(path: Path) -> None:
    """Raise if the (well-formed) XML file's root element is not ``<osm>``."""
    with open_osm_file(path) as file:
        _, root = next(iter(iterparse(file, events=("start",))))
    if root.tag != "osm":
        raise osm_file_error(path, f"the root element is <{root.tag}>, not <osm>: not OSM XML")
