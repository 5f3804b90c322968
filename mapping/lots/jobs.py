"""Design jobs: a lot design run in a background thread, reporting progress, stoppable.

A page starts a job (:meth:`DesignJobs.start`), polls its state (:meth:`Job.as_dict`: step n
of N, the share done, the best balance so far) and may cancel it (:meth:`DesignJobs.cancel`),
which sets a flag the ReCom loop reads before every step
(:func:`mapping.lots.design.design_lots`, ``cancelled``). Knows nothing about Flask: the
work is a function of (report, cancelled), and jobs belong to an owner (a browser
session's token), so nobody else can read or stop them. Jobs are kept in memory, one
process; a finished one is forgotten after :attr:`DesignJobs.keep_seconds`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final

from mapping.errors import MappingError
from mapping.jobs import run_guarded
from mapping.lots._search import DesignCancelled, Report, SearchProgress

#: What a person is told when a design fails for a reason that is not theirs (no stack trace).
UNEXPECTED: Final = ("The design could not be finished. Try again; if it keeps happening, tell "
                     "the service's administrator.")

Work = Callable[[Report, Callable[[], bool]], Any]


class JobsBusyError(MappingError, RuntimeError):
    """Too many designs are running at once on this server."""


@dataclass
class Job:
    """One design run: its state, latest progress and, once done, its result."""

    id: str
    owner: str
    meta: dict[str, Any]
    """What the page needs beside the progress (e.g. the tolerance, the page to go to)."""
    state: str = "running"
    """``running``, ``done``, ``failed`` or ``cancelled``."""
    progress: SearchProgress | None = None
    result: Any = None
    message: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    cancel_flag: threading.Event = field(default_factory=threading.Event)

    def as_dict(self) -> dict[str, Any]:
        """Give the job as JSON-ready plain data, with a line of progress in plain words."""
        p = self.progress
        seconds = (self.finished or time.monotonic()) - self.started
        out: dict[str, Any] = {
            "job": self.id, "state": self.state, "seconds": round(seconds, 1),
            "step": p.step if p else 0, "steps": p.steps if p else None,
            "attempt": p.attempt if p else None, "attempts": p.attempts if p else None,
            "percent": 100 if self.state == "done" else round(100 * p.share_done) if p
            else _clock_percent(seconds, self.meta.get("max_seconds")),
            "deviation": round(p.deviation, 4) if p else None,
            "cut_edges": p.cut_edges if p else None,
            "message": self.message or describe(p, seconds=seconds),
            "problems": self.problems, **self.meta,
        }
        return out


def _clock_percent(seconds: float, limit: object) -> int:
    """Give the share of the time limit gone, in per cent (0 without a limit), below 100."""
    return min(99, round(100 * seconds / limit)) if isinstance(limit, int | float) and limit else 0


def describe(progress: SearchProgress | None, *, seconds: float = 0.0) -> str:
    """Give a search's progress in plain words: step n of up to N, attempt, best balance."""
    if progress is None:
        return f"Starting: drawing a first balanced plan… {seconds:.0f} s."
    p = progress
    limit = f" of at most {p.max_seconds:g} s" if p.max_seconds else ""
    return (f"Step {p.step:,} of up to {p.steps:,} (fresh start {p.attempt} of up to "
            f"{p.attempts}). Best so far: no lot is more than {p.deviation:.1%} off the ideal "
            f"size; {p.cut_edges} cut edges. {p.seconds:.0f} s{limit}.")


class DesignJobs:
    """The design jobs of one server process (thread-safe)."""

    def __init__(self, *, most_running: int = 2, keep_seconds: float = 600.0) -> None:
        self.most_running = most_running
        """Jobs that may run at once; one more is refused (:class:`JobsBusyError`)."""
        self.keep_seconds = keep_seconds
        """How long a finished job's state is kept for its page to read."""
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, owner: str, work: Work, *, meta: dict[str, Any] | None = None,
              on_done: Callable[[Any], None] | None = None) -> Job:
        """Give a new job running ``work(report, cancelled)`` in a thread of its own.

        ``on_done`` is called with the result when the work finishes (e.g. to cache it).
        Raises :class:`JobsBusyError` when :attr:`most_running` jobs are running already,
        or the owner has one running.
        """
        with self._lock:
            self._forget_old()
            mine = [j for j in self._jobs.values() if j.state == "running" and j.owner == owner]
            if mine:  # one each, so nobody can take every slot
                raise JobsBusyError("a design you started is still being worked out; wait for "
                                    "it to finish, or cancel it, before starting another")
            running = sum(1 for j in self._jobs.values() if j.state == "running")
            if running >= self.most_running:
                raise JobsBusyError(f"{running} designs are being worked out on this server "
                                    "already; wait a few seconds and try again")
            job = Job(id=secrets.token_urlsafe(12), owner=owner, meta=dict(meta or {}))
            self._jobs[job.id] = job

        def report(progress: SearchProgress) -> None:
            job.progress = progress

        def finish() -> Any:
            result = work(report, job.cancel_flag.is_set)
            if on_done is not None:
                on_done(result)
            return result

        def run() -> None:
            end = run_guarded(finish, what=f"lot design job {job.id}", cancelled=DesignCancelled,
                              on_cancel="Cancelled: no design was made.", unexpected=UNEXPECTED)
            with self._lock:
                job.result, job.message, job.problems = end.result, end.message, end.problems
                job.finished, job.state = time.monotonic(), end.state

        threading.Thread(target=run, name=f"lot-design-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        """Give the owner's job of that id, or ``None`` (unknown, forgotten, or not theirs)."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and secrets.compare_digest(job.owner, owner) else None

    def cancel(self, job_id: str, owner: str) -> Job | None:
        """Ask the owner's job to stop (it stops before its next ReCom step); give it, or None."""
        job = self.get(job_id, owner)
        if job is not None and job.state == "running":
            job.cancel_flag.set()
        return job

    def wait(self, job_id: str, owner: str, timeout: float) -> Job | None:
        """Give the job once it has finished, or after ``timeout`` seconds (for tests, scripts)."""
        end = time.monotonic() + timeout
        job = self.get(job_id, owner)
        while job is not None and job.state == "running" and time.monotonic() < end:
            time.sleep(0.05)
        return job

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key in [k for k, j in self._jobs.items()
                    if j.finished is not None and now - j.finished > self.keep_seconds]:
            del self._jobs[key]


class RecentResults:
    """The last few results by key, each for a while (thread-safe): a page and its downloads
    reuse one design run. Counts hits and misses as ``functools.lru_cache`` does."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size, self.seconds = size, seconds
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._counts = {"hits": 0, "misses": 0}

    def get(self, key: Hashable) -> Any:
        """Give the result kept under ``key``, or ``None`` (never kept, or too old)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and time.monotonic() - hit[0] <= self.seconds:
                self._items.move_to_end(key)
                self._counts["hits"] += 1
                return hit[1]
            self._counts["misses"] += 1
            return None

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, forgetting the least recently used beyond :attr:`size`."""
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def info(self) -> dict[str, int]:
        """Give the hits, misses and size."""
        with self._lock:
            return {**self._counts, "size": len(self._items)}
