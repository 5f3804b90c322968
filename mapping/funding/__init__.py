"""Micro-funding: a plan of small grants for the gaps, and the community spaces that could host them.

Gaps are ranked by unmet demand and given grants within the budget; host sites are chosen
by the maximal covering location problem; the plan can be written as a 360Giving-shaped
package (a plan, not awards). Front door: :func:`plan_microfund`,
:func:`choose_host_sites`, :func:`grants_to_360giving`.
"""

from mapping.funding.giving360 import grants_to_360giving
from mapping.funding.mclp import choose_host_sites
from mapping.funding.plan import plan_microfund

__all__ = ["choose_host_sites", "grants_to_360giving", "plan_microfund"]
