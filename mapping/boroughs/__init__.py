"""Boroughs: loading a council's own open data into the store, starting with the Newham demo.

The demo reads the real open files in the data folder in place (``data/demo_sources.csv``
names them, with their licences) and loads areas, attributes and the register.
Front door: :func:`load_demo`.
"""

from mapping.boroughs.demo import load_demo

__all__ = ["load_demo"]
