"""The whole co-production journey in a real browser, offline.

A resident tells us about an asset; it is not public; an officer signs in and
approves it; it then appears on the map, in the directory and on its own page.
An asset whose name is markup shows as text on its detail page.
"""

import re

import pandas as pd
import pytest
from sqlalchemy import select

from mapping.register.importers import prepare_assets, write_assets
from mapping.register.users import create_user
from mapping.store.database import Store
from mapping.store.models import Asset
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

NAME = "Forest Gate memory café (browser test)"


def test_resident_submits_officer_approves_and_it_appears(live_server, browser_page,
                                                          demo_store: Store) -> None:
    with demo_store.transaction() as session:
        create_user(session, "officer1", "a long enough password", role="officer")
    page, problems = browser_page

    page.goto(live_server + "/tell-us")
    page.get_by_label("Name or title").fill(NAME)
    page.get_by_label("Postcode").fill("E7 0QH")
    page.get_by_role("button", name="Send it to the council").click()
    page.wait_for_url(re.compile(r"/tell-us/thanks"))
    assert "not public" in page.locator("main").inner_text()

    page.goto(live_server + f"/directory/?q={NAME[:18]}")
    assert "0 results" in page.locator("main").inner_text()

    page.goto(live_server + "/login")
    page.get_by_label("Username").fill("officer1")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server + "/submissions")
    assert NAME in page.locator("main").inner_text()
    page.get_by_label("Category").select_option("memory_cafe")
    page.get_by_role("button", name="Approve: put it on the map").click()
    page.wait_for_load_state()
    screenshot(page, "submissions_after_approval")

    page.goto(live_server + "/?category=memory_cafe")
    page.wait_for_selector(".asset-marker, .asset-cluster", timeout=15_000)
    assert "1 active asset" in page.locator("main").inner_text()

    page.goto(live_server + "/directory/?category=memory_cafe")
    link = page.get_by_role("link", name=NAME)
    link.click()
    page.wait_for_url(re.compile(r"/assets/\d+$"))
    assert NAME in page.locator("h1").inner_text()
    assert "submission" in page.locator("main").inner_text().lower()
    assert problems == [], "\n".join(problems)


def test_markup_in_a_name_is_text_on_the_detail_page(live_server, browser_page,
                                                    demo_store: Store) -> None:
    evil = "<img src=x onerror=alert(1)>"
    prepared, found = prepare_assets(pd.DataFrame({
        "external_id": ["xss"], "name": [evil], "category": ["peer_group"],
        "postcode": ["E15 4EH"]}))
    write_assets(demo_store, prepared, found, file="t", rows=1, skip_invalid=False,
                 changed_by="test")
    with demo_store.transaction() as session:
        asset_id = session.scalar(select(Asset.id).where(Asset.external_id == "xss"))
    page, problems = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server}/assets/{asset_id}")
    assert evil in page.locator("h1").inner_text()
    assert page.locator("main img").count() == 0
    assert dialogs == [] and problems == []
