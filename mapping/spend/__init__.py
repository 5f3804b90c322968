"""Spend: who the council's money goes to, benchmarked by ownership (the CLES figure 2).

Council spend files are read as published (header after any preamble, exact pence, totals
rows, unambiguous repairs), suppliers are matched to the register and classed, and the
report gives shares per subsector, top extractive suppliers, local share and policy bands.
Front door: :func:`read_spend`, :func:`import_spend`, :func:`report_for`.
"""

from mapping.spend.reading import read_spend
from mapping.spend.service import report_for
from mapping.spend.store import import_spend

__all__ = ["import_spend", "read_spend", "report_for"]
