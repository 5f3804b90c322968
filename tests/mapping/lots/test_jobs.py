"""Design jobs: progress while a design runs, Cancel, plain-words failures, a cap on jobs."""

from __future__ import annotations

import threading
import time

import pytest

from mapping.errors import Problem, ValidationError
from mapping.lots.design import DesignCancelled, LotSettings, SearchProgress, design_lots
from mapping.lots.jobs import UNEXPECTED, DesignJobs, JobsBusyError, RecentResults, describe
from tests.mapping.lots.test_design import assert_contiguous, grid


def _progress(step: int, steps: int = 100, deviation: float = 0.05) -> SearchProgress:
    return SearchProgress(step=step, steps=steps, attempt=1, attempts=10, deviation=deviation,
                          cut_edges=12, seconds=2.0, max_seconds=20.0)


def test_a_design_reports_each_burst_and_its_best_balance_so_far() -> None:
    areas = grid(6, 4, [float(50 + (i * 37) % 90) for i in range(24)])
    seen: list[SearchProgress] = []
    design = design_lots(areas, k=4, tolerance=0.05, seed=3, report=seen.append,
                         settings=LotSettings(bursts=8, attempts=2))
    assert seen, "no progress was reported"
    steps = [p.step for p in seen]
    assert steps == sorted(steps) and steps[0] >= 1
    assert {p.steps for p in seen} == {2 * 8 * 10} and all(p.attempts == 2 for p in seen)
    # The best so far never gets worse, and ends as the design's own balance.
    assert seen[-1].deviation == pytest.approx(design.imbalance, abs=1e-9)
    assert seen[-1].cut_edges == design.cut_edges
    # Reporting changes nothing: the seed still fixes the design.
    plain = design_lots(areas, k=4, tolerance=0.05, seed=3, settings=LotSettings(bursts=8, attempts=2))
    assert plain.lookup.equals(design.lookup)


def test_a_cancelled_design_stops_before_its_next_step() -> None:
    areas = grid(6, 4)
    asked = {"n": 0}

    def cancelled() -> bool:
        asked["n"] += 1
        return asked["n"] > 5  # a few steps in

    with pytest.raises(DesignCancelled):
        design_lots(areas, k=4, tolerance=0.01, seed=0, cancelled=cancelled)
    # Once it says yes the search stops at once: the proposal in hand asks too, nothing more.
    assert 6 <= asked["n"] <= 7
    assert_contiguous(areas, design_lots(areas, k=4, seed=0).lookup)  # nothing left behind


def test_progress_is_said_in_plain_words() -> None:
    assert describe(None, seconds=3.2) == "Starting: drawing a first balanced plan… 3 s."
    line = describe(_progress(230, 6000, 0.043))
    assert line.startswith("Step 230 of up to 6,000 (fresh start 1 of up to 10)")
    assert "no lot is more than 4.3% off the ideal size" in line and "of at most 20 s" in line
    assert _progress(50, 100).share_done == pytest.approx(0.5)
    assert _progress(1, 1000).share_done == pytest.approx(0.1)  # the clock: 2 s of 20 s


def _wait(jobs: DesignJobs, job_id: str, owner: str = "me") -> str:
    job = jobs.wait(job_id, owner, timeout=10)
    assert job is not None
    return job.state


def test_a_job_runs_in_the_background_reports_and_finishes() -> None:
    jobs = DesignJobs()
    go = threading.Event()
    kept: list[object] = []

    def work(report, cancelled):  # type: ignore[no-untyped-def]
        report(_progress(10))
        go.wait(5)
        return "the design"

    job = jobs.start("me", work, meta={"tolerance": 0.1}, on_done=kept.append)
    time.sleep(0.1)
    running = job.as_dict()
    assert running["state"] == "running" and running["step"] == 10 and running["percent"] == 10
    assert running["tolerance"] == 0.1 and running["message"].startswith("Step 10 of up to 100")
    assert jobs.get(job.id, "someone else") is None  # nobody else reads it
    go.set()
    assert _wait(jobs, job.id) == "done" and kept == ["the design"]
    assert job.as_dict()["percent"] == 100


def test_cancel_failure_and_the_cap_on_running_jobs() -> None:
    jobs = DesignJobs(most_running=1)

    def until_cancelled(report, cancelled):  # type: ignore[no-untyped-def]
        while not cancelled():
            time.sleep(0.01)
        raise DesignCancelled("the design was cancelled")

    job = jobs.start("me", until_cancelled)
    with pytest.raises(JobsBusyError, match="wait a few seconds"):
        jobs.start("you", until_cancelled)
    assert jobs.cancel(job.id, "someone else") is None
    assert jobs.cancel(job.id, "me") is not None
    assert _wait(jobs, job.id) == "cancelled"
    assert job.as_dict()["message"] == "Cancelled: no design was made."

    def refused(report, cancelled):  # type: ignore[no-untyped-def]
        raise ValidationError([Problem("give at least 2 lots", field="k")], summary="not valid")

    bad = jobs.start("me", refused)
    assert _wait(jobs, bad.id) == "failed"
    assert bad.as_dict()["problems"][0]["field"] == "k"

    def broken(report, cancelled):  # type: ignore[no-untyped-def]
        raise KeyError("internal detail")

    crash = jobs.start("me", broken)
    assert _wait(jobs, crash.id) == "failed"
    assert crash.as_dict()["message"] == UNEXPECTED and "internal" not in str(crash.as_dict())


def test_recent_results_keep_the_last_few_for_a_while() -> None:
    recent = RecentResults(2, seconds=60)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1
    recent.put("c", 3)  # "b" was used least lately
    assert recent.get("b") is None and recent.get("c") == 3
    assert recent.info() == {"hits": 2, "misses": 1, "size": 2}
    stale = RecentResults(2, seconds=0)
    stale.put("a", 1)
    time.sleep(0.01)
    assert stale.get("a") is None


def test_one_running_design_each_so_nobody_takes_every_slot() -> None:
    jobs = DesignJobs(most_running=3)
    release = threading.Event()

    def held(report, cancelled):  # type: ignore[no-untyped-def]
        release.wait(10)
        return "done"

    mine = jobs.start("me", held)
    with pytest.raises(JobsBusyError, match="a design you started is still being worked out"):
        jobs.start("me", held)
    theirs = jobs.start("you", held)  # a slot is still free for someone else
    release.set()
    assert _wait(jobs, mine.id) == "done" and jobs.wait(theirs.id, "you", 10) is not None
    assert jobs.start("me", held) is not None  # once mine has finished, I may start again
