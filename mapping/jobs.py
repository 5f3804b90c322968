"""How a background job's work ended, in words a person can read: one rule for every job.

Lot designs (:mod:`mapping.lots.jobs`, kept in memory) and spend imports
(:mod:`mapping.spend.jobs`, kept in files) run their work through :func:`run_guarded`: the
work's own cancel becomes ``cancelled``, an error we raise on purpose becomes ``failed``
with its message and problems, and anything else becomes ``failed`` with a plain sentence
while the log keeps the trace (a background job has nobody to raise to).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mapping.errors import MappingError, ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a job's work ended: ``done`` (with its result), ``cancelled`` or ``failed``."""

    state: str
    result: Any = None
    message: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_count: int = 0


def run_guarded(work: Callable[[], Any], *, what: str,
                cancelled: type[BaseException] | tuple[type[BaseException], ...],
                on_cancel: str, unexpected: str, most_problems: int | None = None) -> Outcome:
    """Run ``work()`` and give its :class:`Outcome`; never raises.

    ``cancelled`` is the exception the work raises when asked to stop (``on_cancel`` says
    so); a :class:`~mapping.errors.ValidationError` gives its summary and (the first
    ``most_problems``) problems; another :class:`~mapping.errors.MappingError` its message;
    anything else ``unexpected``, with the trace logged under ``what``.
    """
    try:
        return Outcome("done", result=work())
    except cancelled:
        return Outcome("cancelled", message=on_cancel)
    except ValidationError as exc:
        problems = [p.as_dict() for p in exc.problems[:most_problems]]
        return Outcome("failed", message=exc.summary, problems=problems,
                       problem_count=len(exc.problems))
    except MappingError as exc:
        return Outcome("failed", message=str(exc))
    except Exception:  # a person sees plain words; the log keeps the trace
        log.exception("%s failed", what)
        return Outcome("failed", message=unexpected)
