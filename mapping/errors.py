"""One error hierarchy for the whole service.

Every error subclasses a built-in as well, so callers that do not know this
package can still catch ``ValueError`` or ``LookupError``. ``web/`` maps each
class to an HTTP status and one JSON error shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class MappingError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where it is and why it is wrong.

    ``row`` is the 1-based data row as a person counts it in a spreadsheet
    (the header is not counted); ``None`` when the problem is with the whole
    file.
    """

    reason: str
    row: int | None = None
    field: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        return (", ".join(where) + ": " if where else "") + self.reason

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "row": self.row, "field": self.field, "reason": self.reason}


class ValidationError(MappingError, ValueError):
    """Input failed validation; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem], *, summary: str | None = None) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = summary or f"{n} problem{'s' if n != 1 else ''} found"
        self.summary = head
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {n - 5} more)" if n > 5 else ""
        super().__init__(f"{head}: {shown}{more}" if shown else head)


class CRSError(MappingError, ValueError):
    """A coordinate reference system is missing or is not the one required."""


class NotFoundError(MappingError, LookupError):
    """A record, layer or file that was asked for does not exist."""


class StaleEditError(MappingError, RuntimeError):
    """Someone else saved the record after this edit started (optimistic locking)."""


class PermissionDeniedError(MappingError, PermissionError):
    """The user's role does not allow the action."""


class DataMissingError(MappingError, FileNotFoundError):
    """A data file the method needs is not in the configured data directory."""
