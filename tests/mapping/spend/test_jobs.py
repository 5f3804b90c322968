"""Background spend imports: each step recorded, a cancel at any step writes nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mapping.errors import NotFoundError
from mapping.spend.jobs import STALE_SECONDS, ImportJob
from mapping.spend.store import IMPORT_STAGES, datasets_frame, import_spend
from mapping.spend.suppliers import supplier_matches_frame
from mapping.store.database import Store

JUNE = Path("spend") / "lambeth" / "lambeth_payments_over_500_2012-06_raw.csv"
JOB = "a" * 32


def _nothing_written(store: Store) -> bool:
    with store.transaction() as session:
        return datasets_frame(session).empty and supplier_matches_frame(session).empty


def test_a_job_records_every_step_and_what_the_import_did(tmp_path: Path, store: Store,
                                                          data_dir: Path) -> None:
    job = ImportJob.create(tmp_path / "jobs", JOB, params={"name": "June"})
    assert job.status().state == "queued" and job.status().cancellable
    seen: list[tuple[str, int]] = []

    def work(stage):  # type: ignore[no-untyped-def]
        def spy(name: str, percent: int) -> None:
            seen.append((name, percent))
            stage(name, percent)
        return import_spend(store, data_dir / JUNE, name="June", imported_by="t", stage=spy)

    status = job.run(work)
    assert status.state == "done" and status.percent == 100 and status.finished
    assert list(dict.fromkeys(name for name, _p in seen)) == list(IMPORT_STAGES)
    percents = [p for _n, p in seen]
    assert percents == sorted(percents) and percents[-1] == IMPORT_STAGES["saving"]
    assert status.stages_done == list(IMPORT_STAGES)
    assert status.summary is not None and "to the penny" in status.summary
    assert status.matches["unmatched"] == 820 and status.dataset_id is not None
    assert job.status() == status  # as written, for any process to read
    assert not job.cancel().cancel_asked  # too late: nothing to stop


@pytest.mark.parametrize("step", list(IMPORT_STAGES))
def test_a_cancel_at_any_step_writes_nothing(step: str, tmp_path: Path, store: Store,
                                             data_dir: Path) -> None:
    job = ImportJob.create(tmp_path / "jobs", JOB, params={})

    def work(stage):  # type: ignore[no-untyped-def]
        def cancel_at(name: str, percent: int) -> None:
            if name == step:
                assert job.cancel().state == "cancelling"
            stage(name, percent)
        return import_spend(store, data_dir / JUNE, name="June", imported_by="t",
                            stage=cancel_at)

    status = job.run(work)
    assert status.state == "cancelled" and status.message == "Import cancelled: nothing was written."
    assert _nothing_written(store)


def test_a_failed_import_keeps_its_problems_and_nothing(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Supplier,Amount\nAcme,abc\n,5.00\n", encoding="utf-8")
    job = ImportJob.create(tmp_path / "jobs", JOB, params={"name": "bad"})
    status = job.run(lambda stage: import_spend(store, path, name="bad", imported_by="t",
                                                stage=stage))
    assert status.state == "failed" and status.problem_count == 2
    assert [p["row"] for p in status.problems] == [2, 3]
    assert "nothing was imported" in (status.message or "")
    assert _nothing_written(store)

    def broken(stage):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    again = ImportJob.create(tmp_path / "jobs", JOB, params={}).run(broken)
    assert again.state == "failed" and "disk on fire" not in (again.message or "")


def test_a_job_that_went_quiet_has_stopped_and_unknown_jobs_are_not_found(
        tmp_path: Path) -> None:
    job = ImportJob.create(tmp_path, JOB, params={})
    status_file = tmp_path / f"{JOB}.json"
    data = json.loads(status_file.read_text(encoding="utf-8"))
    data.update(state="running", stage="writing", updated_at=time.time() - STALE_SECONDS - 1)
    status_file.write_text(json.dumps(data), encoding="utf-8")
    assert job.status().state == "stopped" and job.status().finished
    with pytest.raises(NotFoundError):
        ImportJob(tmp_path, "b" * 32).status()
    with pytest.raises(NotFoundError):
        ImportJob(tmp_path, "../../etc/passwd")
