"""The social growth officer's journey in a real browser, offline, by clicking and typing.

Two residents tell us about the same café; the officer sees in the queue that each looks
like the other, approves the first, and is warned before approving the second, which now
repeats an asset on the map; so it is rejected as a duplicate. The officer then opens the
gaps and plans a micro-fund round with the default £500 grant, and sees which host sites
are suggested, or why none can be.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from mapping.register.users import create_user
from mapping.store.database import Store
from mapping.store.models import Asset
from tests.browser.conftest import look_at

pytestmark = pytest.mark.browser

FIRST = "Forest Gate Memory Café"
AGAIN = "The Forest Gate memory cafe"
POSTCODE = "E7 0QH"


def _tell_us(page, base: str, name: str, *, who: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/tell-us")
    page.get_by_label("Name or title").fill(name)
    page.get_by_label("What is it, and who is it for?").fill("Tea, songs and a chat, Tuesdays 2pm")
    page.get_by_label("Postcode").fill(POSTCODE)
    page.get_by_label("Who runs it? (optional)").fill(who)
    page.get_by_role("button", name="Send it to the council").click()
    page.wait_for_url(re.compile(r"/tell-us/thanks"))


def _assets_named(store: Store, name: str) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Asset)
                                  .where(Asset.name == name)) or 0)


def test_the_officer_is_warned_of_a_duplicate_and_plans_a_micro_fund(
        live_server, browser_page, demo_store: Store) -> None:
    with demo_store.transaction() as session:
        create_user(session, "officer1", "a long enough password", role="officer")
    page, problems = browser_page

    # Two residents send the same café.
    page.goto(live_server + "/tell-us")
    look_at(page, "officer-tell-us")
    _tell_us(page, live_server, FIRST, who="St Mark's church")
    look_at(page, "officer-tell-us-thanks")
    _tell_us(page, live_server, AGAIN, who="St Marks")

    page.goto(live_server + "/login")
    page.get_by_label("Username").fill("officer1")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Submissions", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions$"))
    text = look_at(page, "officer-queue")
    assert "2 look like a duplicate" in text
    first, second = page.locator("article.submission-card").all()
    first_id = int(first.get_attribute("id").removeprefix("submission-"))
    second_id = int(second.get_attribute("id").removeprefix("submission-"))
    warning = first.locator(".duplicate-warning")
    assert "Likely duplicate" in warning.inner_text()
    link = warning.get_by_role("link", name=AGAIN)
    assert link.get_attribute("href") == f"/submissions/{second_id}"
    assert second.locator(".duplicate-warning").get_by_role("link", name=FIRST).count() == 1
    # Two pending submissions alike: either may be approved; nothing asks to confirm yet.
    assert first.get_by_label(re.compile("Approve anyway")).count() == 0

    first.get_by_label("Category").select_option(label="Memory café")
    first.get_by_role("button", name="Approve: put it on the map").click()
    page.wait_for_url(re.compile(r"/submissions$"))
    text = look_at(page, "officer-queue-after-approval")
    approved = re.search(rf"Approved submission #{first_id}: it is now asset #(\d+)", text)
    assert approved, text
    asset_id = int(approved.group(1))
    assert _assets_named(demo_store, FIRST) == 1

    # The second now repeats an asset on the map: it is named, with a link, and approving
    # it needs "Approve anyway".
    card = page.locator(f"#submission-{second_id}")
    warning = card.locator(".duplicate-warning")
    assert warning.get_by_role("link", name=FIRST).get_attribute("href") == f"/assets/{asset_id}"
    assert f"asset #{asset_id}" in warning.inner_text() and "same postcode" in warning.inner_text()
    card.get_by_label("Category").select_option(label="Memory café")
    card.get_by_role("button", name="Approve: put it on the map").click()
    page.wait_for_url(re.compile(rf"/submissions/{second_id}/approve$"))
    text = look_at(page, "officer-duplicate-warned")
    assert f"This looks like asset #{asset_id} '{FIRST}'" in text
    anyway = page.get_by_label(re.compile("Approve anyway"))
    assert anyway.count() == 1 and anyway.get_attribute("aria-invalid") == "true"
    assert _assets_named(demo_store, FIRST) == 1 and _assets_named(demo_store, AGAIN) == 0
    # The refusal is a 422, as every form with a problem is: expected, not a fault.
    refused = [p for p in problems if p.startswith("HTTP 422") and p.endswith("/approve")]
    assert len(refused) == 1
    problems.remove(refused[0])

    page.get_by_label("Reason for rejecting").fill(f"The same café as asset #{asset_id}.")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(re.compile(r"/submissions$"))
    text = look_at(page, "officer-queue-decided")
    assert "0 waiting" in text and f"The same café as asset #{asset_id}." in text

    # The gaps, then a micro-fund round with the default £500 grant.
    page.get_by_role("link", name="Gaps", exact=True).click()
    page.wait_for_selector(".area-legend", timeout=30_000)
    text = look_at(page, "officer-gaps")
    assert "How this is worked out" in text and "Luo, W. and Qi, Y. (2009)" in text
    page.get_by_role("link", name="Plan a micro-fund round for these gaps").click()
    page.wait_for_selector("#plan-form", timeout=30_000)
    assert page.locator("#grant").input_value() == "500"
    page.locator("#budget").fill("3000")
    page.get_by_role("button", name="Plan").click()
    page.wait_for_url("**budget=3000**", timeout=30_000)
    page.wait_for_selector(".area-legend", timeout=30_000)
    text = look_at(page, "officer-plan")
    assert "6 grants of £500 (£3,000 of £3,000) for GP practice gaps" in text
    hosts = page.locator("#host-sites").inner_text()
    assert re.search(r"Suggested host sites: [1-6] of 6 grants", hosts), hosts
    named = [c.strip() for c in page.locator("#plan-table tr.funded td:nth-child(6)").all_inner_texts()]
    assert [n for n in named if n != "–"], named
    assert "Church, R. and ReVelle, C. (1974)" in text and "PuLP with CBC" in text

    # With 65+ demand chosen, every count says whose.
    page.goto(page.url.replace("measure=population", "measure=population_65_plus"))
    page.wait_for_selector(".area-legend", timeout=30_000)
    text = look_at(page, "officer-plan-65-plus")
    assert "People aged 65+ in gap areas" in text and "demand: people aged 65+" in text
    assert problems == [], "\n".join(problems)
