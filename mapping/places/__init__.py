"""Places: postcodes, points and area layers (boundaries, their attributes, and patches).

Every record becomes a point here (lon/lat, easting/northing or a postcode, with checks),
and boundary layers are cleaned, joined to attribute tables and grouped into patches.
Front door: :func:`geocode_frame`, :func:`areas_from_frame`, :func:`patches_from_lookup`,
:func:`lookup_by_location`, and the store side :func:`save_area_layer`,
:func:`load_area_layer`, :func:`load_patches`.
"""

from mapping.places.areas import areas_from_frame, lookup_by_location, patches_from_lookup
from mapping.places.geocode import geocode_frame
from mapping.places.store import load_area_layer, load_patches, save_area_layer

__all__ = ["areas_from_frame", "geocode_frame", "load_area_layer", "load_patches",
           "lookup_by_location", "patches_from_lookup", "save_area_layer"]
