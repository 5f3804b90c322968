"""A commissioner's spend journey in a real browser, offline, by clicking.

An officer uploads Lambeth's June 2012 file, watches the import's progress, opens the
report (its chart carries £ figures, it says why "local" is what it is), narrows the
top extractive suppliers to care, then on the supplier review page searches, filters
and resolves two suppliers at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.register.users import create_user
from mapping.store.database import Store
from tests.browser.conftest import look_at

pytestmark = pytest.mark.browser

JUNE = Path("spend") / "lambeth" / "lambeth_payments_over_500_2012-06_raw.csv"


def test_a_commissioner_uploads_reads_the_report_and_resolves_suppliers(  # type: ignore[no-untyped-def]
        live_server, browser_page, demo_store: Store, data_dir: Path) -> None:
    with demo_store.transaction() as session:
        create_user(session, "officer1", "a long enough password", role="officer")
    page, problems = browser_page
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("officer1")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()

    # Upload, check, import.
    page.goto(f"{live_server}/spend/")
    page.get_by_role("link", name="Upload a spend file").click()
    page.get_by_label("Spend file (CSV)").set_input_files(str(data_dir / JUNE))
    look_at(page, "spend-journey-upload")
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("#reconciliation")
    assert "to the penny" in page.locator("#reconciliation").inner_text()
    mapping = page.get_by_label("Column mapping").input_value()
    assert "Invoice Creation Date=payment date" in mapping and "paid_on" not in mapping
    look_at(page, "spend-journey-check")
    page.get_by_label("Dataset name").fill("Lambeth June 2012")
    with page.expect_response(lambda r: r.url.endswith("/progress")) as first:
        page.get_by_role("button", name="Import").click()
    # The page as first served: the import is under way, with its progress and a Cancel button.
    progress = first.value.text()
    assert 'id="import-bar"' in progress and "Cancel the import" in progress
    assert "Importing Lambeth June 2012" in progress
    page.wait_for_selector("#import-bar")
    page.wait_for_selector("#import-result", timeout=60_000)
    assert page.locator("#import-bar").get_attribute("value") == "100"
    result = page.locator("#import-result").inner_text()
    assert "Imported £40,292,334.84" in result and "820 suppliers" in result
    look_at(page, "spend-journey-imported")

    # The report: £ on the chart, why local is £0, the words explained.
    page.get_by_role("link", name="Open the report").click()
    chart = page.locator("#shares-chart")
    chart.wait_for()
    page.wait_for_function("document.querySelector('#shares-chart').complete")
    assert chart.evaluate("img => img.naturalWidth") > 400
    svg = page.request.get(live_server + str(chart.get_attribute("src"))).text()
    assert "£2,000,734</text>" in svg and "total (£)" in svg  # each bar's total in £
    assert "£" in str(chart.get_attribute("alt"))
    local = page.locator("#local-explained").inner_text()
    assert "9 of 820" in local and "not known for 100% of the spend" in local
    assert page.get_by_role("heading", name="How this is worked out").is_visible()
    top = page.locator("#top-extractive").inner_text()
    assert "Lambeth Living Ltd" in top
    look_at(page, "spend-journey-report")
    page.get_by_label("Show suppliers paid for").select_option(label="adult care only (every care subsector)")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url("**top_in=adult+care**")
    top = page.locator("#top-extractive").inner_text()
    assert "Lambeth Living Ltd" not in top and "Allied Healthcare (Uk) Ltd" in top
    assert "adult care only" in page.locator("#top-scope").inner_text()
    look_at(page, "spend-journey-report-care")

    # The supplier review: 50 a page, search, filter, resolve two at once.
    page.get_by_role("link", name="Review them").click()
    page.wait_for_selector("#suppliers")
    assert page.locator("#suppliers tbody tr").count() == 50
    assert "of 814 supplier(s)" in page.locator("#supplier-count").inner_text()
    look_at(page, "spend-journey-suppliers")
    page.get_by_label("Supplier name").fill("care")
    page.get_by_label("Class", exact=True).select_option("extractive")
    page.get_by_label("Paid for").select_option("residential")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url("**q=care**")
    rows = page.locator("#suppliers tbody tr")
    assert 2 <= rows.count() < 50
    names = [rows.nth(i).locator("th").inner_text() for i in range(2)]
    assert all("care" in n.lower() for n in names)
    look_at(page, "spend-journey-suppliers-filtered")
    for name in names:
        page.get_by_label(f"Tick {name}").check()
    page.get_by_label("Set their class to").select_option("generative")
    page.get_by_label("Evidence (optional)").fill("checked with the commissioning team")
    page.get_by_role("button", name="Save the ticked suppliers").click()
    page.wait_for_selector(".flash")
    confirmation = page.locator(".flash").inner_text()
    assert "Saved 2 suppliers classed as generative" in confirmation
    assert all(n in confirmation for n in names)
    look_at(page, "spend-journey-resolved")
    assert problems == []
