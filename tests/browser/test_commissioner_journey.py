"""A commissioner's lots journey in a real browser, offline, as an officer.

Design lots by clicking and watch the progress (and cancel a long search), save eight lots
of wards, then see the gaps rolled up to them: the lots' totals of areas and people are
non-zero and add up to the ward roll-up's, and the public default stays by ward until an
officer makes the lots the default grouping.
"""

from __future__ import annotations

import re

import pytest

from mapping.store.database import Store
from tests.browser.conftest import look_at, sign_in_as_officer

pytestmark = pytest.mark.browser

NAME = "Commissioner eight"
def _rollup(page) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    """Give the gaps page's rows by patch: (name, areas, people)."""
    rows = []
    for row in page.locator("#patch-table tbody tr").all():
        name = row.locator("th").inner_text().strip()
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        rows.append((name, int(cells[0]), int(cells[1].replace(",", ""))))
    return rows


def _set_design(page, *, layer: str, k: int, tolerance: str, seed: int) -> None:  # type: ignore[no-untyped-def]
    page.select_option("#layer", layer)
    page.fill("#k", str(k))
    page.fill("#tolerance", tolerance)
    page.fill("#seed", str(seed))


def test_a_commissioner_designs_saves_and_rolls_gaps_up_to_lots(  # type: ignore[no-untyped-def]
        live_server, browser_page, demo_store: Store) -> None:
    page, problems = browser_page
    sign_in_as_officer(page, live_server, demo_store)

    # The public default before anything is saved: by ward.
    page.goto(live_server + "/gaps")
    page.wait_for_selector("#patch-table", timeout=30_000)
    assert "Patches: wards (" in page.locator("#gap-summary").inner_text()
    wards = _rollup(page)
    assert len(wards) == 24
    ward_areas, ward_people = sum(r[1] for r in wards), sum(r[2] for r in wards)
    look_at(page, "lots-gaps-by-ward")

    page.goto(live_server + "/lots")
    page.wait_for_selector("#balance-chart svg", timeout=60_000)
    text = look_at(page, "lots-page")
    assert "Electoral wards (Dec 2023)" in page.locator("#layer").inner_text()
    for words in ("How this is worked out", "ReCom (recombination)", "Recombination: A family "
                  "of Markov chains for redistricting", "DeFord", "GerryChain"):
        assert words in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # tables scroll inside
    page.set_viewport_size({"width": 1366, "height": 900})

    # A long search (20 lots of LSOAs within ±0.5%): progress shows, and Cancel stops it.
    _set_design(page, layer="lsoa_2021", k=20, tolerance="0.5", seed=7)
    page.click("#design-button")
    page.wait_for_selector("#design-progress:not([hidden])")
    page.wait_for_function(
        "document.getElementById('design-progress-text').textContent.startsWith('Step')",
        timeout=20_000)
    line = page.locator("#design-progress-text").inner_text()
    assert re.search(r"Step [\d,]+ of up to [\d,]+ .*no lot is more than \d+\.\d% off", line), line
    assert 0 <= page.locator("#design-bar").evaluate("b => b.value") <= 100
    look_at(page, "lots-designing")
    page.click("#cancel-button")
    page.wait_for_function(
        "document.getElementById('design-progress-text').textContent.startsWith('Cancelled')",
        timeout=10_000)
    assert page.locator("#design-button").is_enabled()
    assert page.locator("#cancel-button").is_hidden()
    look_at(page, "lots-cancelled")

    # Eight lots of wards, designed by clicking: progress, then the designed page.
    _set_design(page, layer="wards_2023", k=8, tolerance="10", seed=3)
    with page.expect_navigation(url=re.compile(r"/lots\?.*seed=3"), timeout=60_000):
        page.click("#design-button")
    page.wait_for_selector("#balance-chart svg", timeout=30_000)
    summary = page.locator("#lots-summary").inner_text()
    assert "8 lots" in summary and "within ±10%" in summary and "Electoral wards" in summary
    assert page.locator(".patch-label").count() == 8
    look_at(page, "lots-designed")

    page.fill("#name", NAME)
    page.click("#save-button")
    page.wait_for_url(re.compile(r"/lots\?set="), timeout=60_000)
    page.wait_for_selector("#default-grouping")
    assert "is not the default grouping" in page.locator("#default-grouping").inner_text()
    look_at(page, "lots-saved")

    # Saving changed nothing public: the gaps page is still by ward, with the same totals.
    page.goto(live_server + "/gaps")
    page.wait_for_selector("#patch-table", timeout=30_000)
    assert "Patches: wards (" in page.locator("#gap-summary").inner_text()
    assert _rollup(page) == wards

    # Rolled up to the saved lots by choosing them under "Roll up to".
    page.select_option("#patches", NAME)
    with page.expect_navigation(timeout=60_000):
        page.locator("#gap-form button[type=submit]").click()
    page.wait_for_selector("#patch-table", timeout=30_000)
    assert f"patch set '{NAME}' (a lot design saved here)" in page.locator(
        "#gap-summary").inner_text()
    lots = _rollup(page)
    assert [r[0] for r in lots] == [f"Lot {i}" for i in range(1, 9)]
    assert all(areas > 0 and people > 0 for _name, areas, people in lots)
    assert sum(r[1] for r in lots) == ward_areas == 185
    assert sum(r[2] for r in lots) == ward_people
    look_at(page, "lots-gaps-by-lot")

    # Only an officer's explicit choice makes the lots the public default, and it can be undone.
    page.goto(live_server + "/lots?set=" + NAME.replace(" ", "+"))
    page.click("#default-button")
    page.wait_for_selector("#default-grouping")
    assert "is the default grouping" in page.locator("#default-grouping").inner_text()
    look_at(page, "lots-default")
    page.goto(live_server + "/gaps")
    page.wait_for_selector("#patch-table", timeout=30_000)
    assert "made the default grouping by an officer" in page.locator("#gap-summary").inner_text()
    assert _rollup(page) == lots
    page.goto(live_server + "/lots?set=" + NAME.replace(" ", "+"))
    page.click("#default-button")
    page.wait_for_selector("#default-grouping")
    page.goto(live_server + "/gaps")
    page.wait_for_selector("#patch-table", timeout=30_000)
    assert "Patches: wards (" in page.locator("#gap-summary").inner_text()
    assert problems == []
