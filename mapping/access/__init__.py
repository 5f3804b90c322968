"""Access and gaps: who can walk to what, and which small areas are left without provision.

Walking networks from OpenStreetMap (or the labelled straight-line fallback) give a cost
table; 2SFCA and E2SFCA turn it into access per small area; gaps are flagged and rolled up
to patches. Front door: :func:`analyse_gaps` with :func:`inputs_from_store` (the one call
the CLI and the pages make), and the pure parts :func:`travel_costs`, :func:`e2sfca`,
:func:`two_step_fca`, :func:`flag_gaps`, :func:`patch_rollup`.
"""

from mapping.access.analysis import analyse_gaps, inputs_from_store
from mapping.access.catchment import e2sfca, two_step_fca
from mapping.access.gaps import flag_gaps, patch_rollup
from mapping.access.network import travel_costs

__all__ = ["analyse_gaps", "e2sfca", "flag_gaps", "inputs_from_store", "patch_rollup",
           "travel_costs", "two_step_fca"]
