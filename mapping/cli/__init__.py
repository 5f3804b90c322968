"""The ``mapping`` command: one module per group of sub-commands, all added to one click group.

:mod:`mapping.cli.main` holds the group and the set-up commands; :mod:`~mapping.cli.imports`,
:mod:`~mapping.cli.gaps`, :mod:`~mapping.cli.lots` and :mod:`~mapping.cli.spend` hold the
rest, and share :mod:`~mapping.cli._common` (plain errors, progress), never the group.
Front door: :func:`main`, the console script.
"""

from mapping.cli.main import main

__all__ = ["main"]
