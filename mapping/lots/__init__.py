"""Lots: designing patch-based contract lots, profiling what each holds, and checking the rules.

A design is k contiguous groups of areas balanced on a measure (ReCom short bursts,
GerryChain); a profile gives each lot's people, sites, ownership and gaps; the lotting
rules are checked per provider. Front door: :func:`design_lots`, :func:`lot_profile`,
:func:`compare_designs`, :func:`check_lot_rules`, :func:`save_lot_design`.
"""

from mapping.lots.design import design_lots
from mapping.lots.profile import check_lot_rules, compare_designs, lot_profile
from mapping.lots.store import save_lot_design

__all__ = ["check_lot_rules", "compare_designs", "design_lots", "lot_profile", "save_lot_design"]
