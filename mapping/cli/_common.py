"""What every ``mapping`` command shares: the context, plain error messages, progress.

Every command exits non-zero with a plain message (and, for bad input, every problem with
its file, row, field and reason) instead of a stack trace: :func:`handles_errors`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from mapping.config import Settings
from mapping.errors import MappingError, Problem, ValidationError
from mapping.store.database import Store

MAX_PROBLEMS_SHOWN = 50


class Context:
    """What every command needs: the settings and, lazily, the store."""

    def __init__(self, settings: Settings, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        #: The settings given on the command line (the web app layers them over its files).
        self.overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.resolved_database_url)
        return self._store

    def ready_store(self) -> Store:
        self.store.check_ready()
        return self.store


def show_problems(problems: list[Problem], report: Path | None) -> None:
    """Print the first problems (file, row, field, reason) and write them all to ``report``."""
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"  - {problem}", err=True)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        hint = f"all of them are in {report}" if report else "use --report FILE to get them all"
        click.echo(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more ({hint})", err=True)
    if report:
        import pandas as pd

        from mapping.spreadsheets import write_safe_csv

        frame = pd.DataFrame([p.as_dict() for p in problems], columns=["file", "row", "field", "reason"])
        write_safe_csv(frame, report)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into a clear message and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            click.echo(f"Error: {exc.summary}", err=True)
            show_problems(exc.problems, kwargs.get("report"))
            sys.exit(1)
        except MappingError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper


@contextmanager
def steps(total: int, desc: str) -> Iterator[Callable[[str], None]]:
    """Give a callback that advances a progress bar by one named step."""
    with tqdm(total=total, desc=desc, unit="step", file=sys.stderr,
              disable=None, leave=True) as bar:
        def advance(message: str) -> None:
            bar.set_postfix_str(message[:60])
            bar.update(1)
            tqdm.write(message, file=sys.stderr)
        yield advance


pass_context = click.make_pass_decorator(Context)


def column_mapping(pairs: tuple[str, ...], *, option: str = "--map", shape: str = "SOURCE=COLUMN"
                   ) -> dict[str, str]:
    """Give ``--map SOURCE=COLUMN`` pairs as a dict; a pair without ``=`` is a usage error."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"'{pair}' is not {shape}", param_hint=option)
        source, target = pair.split("=", 1)
        out[source.strip()] = target.strip()
    return out
