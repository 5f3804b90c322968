"""Spend imports run in the background: progress a page can poll, and a cancel that writes nothing.

A job is two files in a jobs folder: ``<id>.json``, its status (replaced whole at each
step, only ever by the job itself), and ``<id>.cancel``, there once someone asks it to
stop. Files rather than memory, so that any web server process can show a job another
one runs. The import checks for the cancel file at every step
(:func:`mapping.spend.store.import_spend`'s ``stage``), inside its one transaction up
to the commit, so a cancelled import leaves the store exactly as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from mapping.errors import MappingError, NotFoundError
from mapping.jobs import run_guarded
from mapping.spend.store import IMPORT_STAGES, SpendImport

#: ``queued`` → ``running`` → ``done``, ``failed`` or ``cancelled``; ``cancelling`` while a
#: cancel waits for the next step, ``stopped`` when the job went quiet (the server restarted).
STATES: Final = ("queued", "running", "cancelling", "done", "failed", "cancelled", "stopped")
FINISHED: Final = ("done", "failed", "cancelled", "stopped")
#: What a person reads for each step.
STAGE_LABELS: Final = {"queued": "Waiting to start", "reading": "Reading the file",
                       "repairing": "Repairing broken lines", "matching suppliers":
                       "Matching suppliers to the register", "writing": "Writing the payments",
                       "saving": "Saving", "done": "Done"}
#: Past this step a cancel is too late: the import is committing.
POINT_OF_NO_RETURN: Final = "saving"
#: A running job whose status has not changed for this long has stopped (a restart).
STALE_SECONDS: Final = 15 * 60
#: Problems kept in a failed job's status (the page shows the first 200).
MAX_PROBLEMS: Final = 2_000
_ID: Final = re.compile(r"[0-9a-f]{32}")


class ImportCancelled(MappingError):
    """Someone asked a running import to stop; nothing was written."""


@dataclass(frozen=True)
class JobStatus:
    """Where a background import is: its state, step and percent, and what it gave."""

    id: str
    state: str
    stage: str = "queued"
    percent: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    """What the import was asked to do (the form's values), to offer it again."""
    dataset_id: int | None = None
    summary: str | None = None
    """The reconciliation, in one sentence, once done."""
    matches: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_count: int = 0
    message: str | None = None
    stages_done: list[str] = field(default_factory=list)
    updated_at: float = 0.0
    cancel_asked: bool = False

    @property
    def finished(self) -> bool:
        """Give whether the job has ended (done, failed, cancelled or stopped)."""
        return self.state in FINISHED

    @property
    def label(self) -> str:
        """Give the current step in words."""
        return STAGE_LABELS.get(self.stage, self.stage)

    @property
    def cancellable(self) -> bool:
        """Give whether a cancel can still stop the job before it writes anything."""
        return self.state in ("queued", "running") and self.stage != POINT_OF_NO_RETURN

    def public(self) -> dict[str, Any]:
        """Give what a progress page polls: state, step (code and words), percent, finished."""
        return {"state": self.state, "stage": self.stage, "label": self.label,
                "percent": self.percent, "finished": self.finished,
                "cancellable": self.cancellable, "message": self.message}


class ImportJob:
    """One background spend import, kept as files in ``folder`` under ``job_id``."""

    def __init__(self, folder: Path, job_id: str) -> None:
        if not _ID.fullmatch(job_id):
            raise NotFoundError(f"no import job '{job_id[:40]}'")
        self.folder = folder
        self.id = job_id
        self._status = folder / f"{job_id}.json"
        self._cancel = folder / f"{job_id}.cancel"

    @classmethod
    def create(cls, folder: Path, job_id: str, *, params: dict[str, Any]) -> ImportJob:
        """Give a new queued job (a job of that id before it is forgotten and replaced)."""
        folder.mkdir(parents=True, exist_ok=True)
        job = cls(folder, job_id)
        job._cancel.unlink(missing_ok=True)
        job._write(JobStatus(job_id, "queued", params=params, updated_at=time.time()))
        return job

    def exists(self) -> bool:
        """Give whether the job has been created."""
        return self._status.is_file()

    def status(self) -> JobStatus:
        """Give the job's status, as last written; raise :class:`NotFoundError` if there is none."""
        try:
            data = json.loads(self._status.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError("that import is not known (or was forgotten after a day); "
                                "upload the file again") from None
        status = JobStatus(**data)
        asked = self._cancel.exists()
        if not status.finished and time.time() - status.updated_at > STALE_SECONDS:
            return _replace(status, state="stopped", message=(
                "The import stopped without finishing (the server may have restarted); "
                "nothing was written. Import it again."))
        if asked and status.state in ("queued", "running") and status.cancellable:
            return _replace(status, state="cancelling", cancel_asked=True)
        return _replace(status, cancel_asked=asked)

    def cancel(self) -> JobStatus:
        """Ask the job to stop at its next step; give its status (unchanged when too late)."""
        status = self.status()
        if status.cancellable:
            self._cancel.touch()
        return self.status()

    def run(self, work: Callable[[Callable[[str, int], None]], SpendImport]) -> JobStatus:
        """Run ``work(stage)``, recording each step; give the final status. Never raises.

        ``work`` is the import (:func:`mapping.spend.store.import_spend` with ``stage``
        passed on); ``stage`` raises :class:`ImportCancelled` once a cancel is asked.
        """
        done: list[str] = []

        def stage(name: str, percent: int) -> None:
            if not done or done[-1] != name:
                done.append(name)
            self._update(state="running", stage=name, percent=int(percent),
                         stages_done=done[:-1])
            if self._cancel.exists():  # after the write: past "saving" a cancel is refused
                raise ImportCancelled("cancelled")

        end = run_guarded(lambda: work(stage), what=f"spend import {self.id}",
                          cancelled=ImportCancelled, most_problems=MAX_PROBLEMS,
                          on_cancel="Import cancelled: nothing was written.", unexpected=(
                              "The import stopped with an unexpected error (the details are in "
                              "the server's log)"))
        if end.state == "cancelled":
            return self._update(state="cancelled", stages_done=done[:-1], message=end.message)
        if end.state == "failed":
            return self._update(state="failed", stages_done=done[:-1], problems=end.problems,
                                problem_count=end.problem_count,
                                message=f"{end.message}; nothing was imported.")
        result = end.result
        return self._update(state="done", stage="done", percent=100,
                            stages_done=[s for s in IMPORT_STAGES if s in done],
                            dataset_id=result.dataset_id,
                            summary=result.spend.reconciliation().describe(),
                            matches=result.matches)

    def forget(self) -> None:
        """Delete the job's files."""
        self._status.unlink(missing_ok=True)
        self._cancel.unlink(missing_ok=True)

    def _update(self, **changes: Any) -> JobStatus:
        data = json.loads(self._status.read_text(encoding="utf-8"))
        data.update(changes, updated_at=time.time())
        status = JobStatus(**data)
        self._write(status)
        return status

    def _write(self, status: JobStatus) -> None:
        data = asdict(status)
        data.pop("cancel_asked")
        part = self._status.with_suffix(f".{os.getpid()}.part")
        part.write_text(json.dumps(data), encoding="utf-8")
        part.replace(self._status)  # whole or not at all: a poll never reads half a status


def _replace(status: JobStatus, **changes: Any) -> JobStatus:
    data = asdict(status)
    data.update(changes)
    return JobStatus(**data)


def forget_old_jobs(folder: Path, *, older_than_s: float = 24 * 3600) -> None:
    """Delete the files of jobs not touched for a day (their status names council data)."""
    cutoff = time.time() - older_than_s
    for path in folder.glob("*"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
