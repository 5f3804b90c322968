"""The spend report in a real browser, offline: the chart draws, a figure drills down to its rows."""

from pathlib import Path

import pytest

from mapping.spend.store import import_spend
from mapping.store.database import Store
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_spend_report_chart_and_drill_down_offline(live_server, browser_page,  # type: ignore[no-untyped-def]
                                                   demo_store: Store, data_dir: Path) -> None:
    result = import_spend(demo_store, data_dir / "spend" / "lambeth" /
                          "lambeth_payments_over_500_2012-06_raw.csv",
                          name="Lambeth June 2012", imported_by="test")
    page, problems = browser_page
    page.goto(f"{live_server}/spend/{result.dataset_id}")
    chart = page.locator("figure img")
    chart.wait_for(timeout=15_000)
    page.wait_for_function("document.querySelector('figure img').complete")
    assert chart.evaluate("img => img.naturalWidth") > 400  # the SVG drew
    assert "to the penny" in page.locator("#reconciliation").inner_text()
    shot = screenshot(page, "spend-report")
    assert shot.stat().st_size > 10_000
    link = page.locator("#subsectors a", has_text="£").nth(2)  # a class figure of residential
    figure = link.inner_text()
    link.click()
    page.wait_for_selector("#drill-total")
    assert f"total {figure}" in page.locator("#drill-total").inner_text()
    assert page.locator("#payments tbody tr").count() > 0
    assert problems == []
