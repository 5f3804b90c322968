"""Boroughs: loading a council's own open data into the store, starting with the Newham demo.

A manifest (``data/boroughs/*.toml``) names a borough's national open files and their
layouts; :func:`load_borough` reads them in place from the data folder and loads areas,
attributes, IMD and the register in one transaction, and the store remembers the borough
(:mod:`mapping.boroughs.settings`). The Newham demo is one such manifest.
Front door: :func:`load_borough`, :func:`read_manifest`, :func:`load_demo`.
"""

from mapping.boroughs.demo import load_demo
from mapping.boroughs.loader import load_borough
from mapping.boroughs.manifest import read_manifest

__all__ = ["load_borough", "load_demo", "read_manifest"]
