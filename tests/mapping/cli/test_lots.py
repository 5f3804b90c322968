"""The lot commands: design-lots, import-lots, lot-profile, check-lot-rules."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from mapping.cli.main import main
from mapping.store.database import Store


def run(runner: CliRunner, store: Store, *args: str) -> Result:
    return runner.invoke(main, ["--database-url", store.url, *args], catch_exceptions=False)


def test_design_save_profile_and_export(runner: CliRunner, demo_store: Store,
                                        tmp_path: Path) -> None:
    out = tmp_path / "lots.csv"
    result = run(runner, demo_store, "design-lots", "--seed", "1", "--save", "Eight",
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "within ±10%" in result.output and "ReCom" in result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "code,patch" and len(lines) == 25
    profile = run(runner, demo_store, "lot-profile", "Eight", "--no-gaps")
    assert profile.exit_code == 0 and "Lot 8" in profile.output
    assert "providers_with_office" in profile.output
    # The exported lookup imports back as lots; a split lot is refused with the reason.
    again = run(runner, demo_store, "import-lots", str(out), "--layer", "wards_2023",
                "--name", "Again")
    assert again.exit_code == 0 and "8 contiguous lots" in again.output
    rows = lines[1:]
    first, last = rows[0].split(","), rows[-1].split(",")
    broken = tmp_path / "broken.csv"
    moved = [f"{first[0]},Lot X", f"{last[0]},Lot X"]  # Beckton and West Ham: far apart
    broken.write_text("\n".join([lines[0], *moved, *rows[1:-1]]) + "\n")
    bad = run(runner, demo_store, "import-lots", str(broken), "--layer", "wards_2023",
              "--name", "Broken")
    assert bad.exit_code == 1
    assert "patch 'Lot X' is in 2 separate pieces" in bad.output


def test_check_lot_rules_lists_unknown_flags_and_two_lot_providers(
        runner: CliRunner, demo_store: Store, tmp_path: Path) -> None:
    allocation = tmp_path / "alloc.csv"
    allocation.write_text("organisation_external_id,lot\ngivefood:newham,Lot 1\n"
                          "givefood:newham,Lot 2\n")
    result = run(runner, demo_store, "check-lot-rules", "--allocation", str(allocation))
    assert result.exit_code == 0, result.output
    assert "one lot per provider" in result.output and "Lot 1, Lot 2" in result.output
    assert "pays the London Living Wage" in result.output and "unknown" in result.output
    missing = run(runner, demo_store, "check-lot-rules", "--allocation", str(allocation),
                  "--lot-set", "No such set")
    assert missing.exit_code == 1 and "no patch set called 'No such set'" in missing.output


def test_design_lots_saves_over_a_design_only_with_replace_and_never_over_an_import(
        runner: CliRunner, demo_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "lots.csv"
    quick = ("design-lots", "-k", "4", "--tolerance", "0.2", "--max-seconds", "30")
    assert run(runner, demo_store, *quick, "--save", "Four", "--out", str(out)).exit_code == 0
    again = run(runner, demo_store, *quick, "--save", "Four")
    assert again.exit_code == 1 and "tick “replace”" in again.output
    assert run(runner, demo_store, *quick, "--save", "Four", "--replace").exit_code == 0
    imported = run(runner, demo_store, "import-lots", str(out), "--layer", "wards_2023",
                   "--name", "Council")
    assert imported.exit_code == 0, imported.output
    refused = run(runner, demo_store, *quick, "--save", "Council", "--replace")
    assert refused.exit_code == 1 and "imported patch set" in refused.output
    same = run(runner, demo_store, "lot-profile", "Four", "--compare", "Four", "--no-gaps")
    assert same.exit_code == 0 and "Four (2)" in same.output
