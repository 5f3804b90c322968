"""Maps: the folium maps every page embeds, with every front-end file served by our own app.

Assets coloured by ownership over areas and patches, the gaps and plan maps, the lots map
and its balance chart, and the submissions maps; nothing loads from the internet.
Front door: :func:`asset_map`, :func:`point_map`, :func:`gaps_map`, :func:`plan_map`,
:func:`lots_map`, :func:`submissions_map`, and :func:`map_parts` to embed one in a page.
"""

from mapping.maps.asset_map import asset_map, map_parts, point_map
from mapping.maps.gaps import gaps_map, plan_map
from mapping.maps.lots import lots_map
from mapping.maps.submissions import submissions_map

__all__ = ["asset_map", "gaps_map", "lots_map", "map_parts", "plan_map", "point_map",
           "submissions_map"]
