"""Every page, as the public and as a signed-in officer sees it, at laptop and phone size.

Each page is screenshotted to ``build/screenshots/`` and checked by axe-core for serious or
critical accessibility problems, and for a missing value ("nan", "None") or a raw code on
screen. The journeys (``test_*_journey.py``) check what each page says; this checks that no
page is left out of the look.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from mapping.register.submissions import save_submission
from mapping.spend.store import import_spend
from mapping.store.database import Store
from mapping.store.models import Asset, Organisation
from tests.browser.conftest import look_at_each, sign_in_as_officer

pytestmark = pytest.mark.browser

PUBLIC = {
    "map": "/",
    "directory": "/directory/",
    "directory-search": "/directory/?postcode=E15+4BQ&category=gp_practice",
    "shortlist": "/directory/shortlist",
    "gaps": "/gaps",
    "plan": "/gaps/plan",
    "lots": "/lots",
    "spend": "/spend/",
    "sources": "/sources",
    "tell-us": "/tell-us",
    "login": "/login",
    "not-found": "/no-such-page",
}


def test_every_public_page_reads_well_and_passes_axe(live_server, browser_page,  # type: ignore[no-untyped-def]
                                                    demo_store: Store, data_dir: Path) -> None:
    dataset = import_spend(demo_store, data_dir / "spend" / "lambeth" /
                           "lambeth_payments_over_500_2012-06_raw.csv",
                           name="Lambeth June 2012", imported_by="test").dataset_id
    with demo_store.transaction() as session:
        asset = session.scalar(select(Asset.id).order_by(Asset.id))
        organisation = session.scalar(select(Organisation.id).order_by(Organisation.id))
    pages = dict(PUBLIC, **{
        "asset": f"/assets/{asset}",
        "organisation": f"/organisations/{organisation}",
        # The payments and cleaning pages still name columns by code ("read as paid_on"):
        # they join this look with the spend pages' plain-words work (issue 13, open).
        "spend-report": f"/spend/{dataset}", "spend-suppliers": "/spend/suppliers",
    })
    page, problems = browser_page
    failures = look_at_each(page, live_server, pages, "page")
    problems[:] = [p for p in problems if "/no-such-page" not in p]
    assert not failures, "\n\n".join(failures)
    assert problems == []


def test_every_officer_page_reads_well_and_passes_axe(live_server, browser_page,  # type: ignore[no-untyped-def]
                                                     demo_store: Store) -> None:
    with demo_store.transaction() as session:
        asset = session.scalar(select(Asset.id).order_by(Asset.id))
        organisation = session.scalar(select(Organisation.id).order_by(Organisation.id))
        submission = save_submission(session, {"kind": "asset", "name": "Forest Gate lunch club",
                                               "postcode": "E7 0QH"}).id
    page, problems = browser_page
    sign_in_as_officer(page, live_server, demo_store)
    pages = {
        "submissions": "/submissions", "submission": f"/submissions/{submission}",
        "asset-new": "/assets/new", "asset-edit": f"/assets/{asset}/edit",
        "asset-history": f"/assets/{asset}/history",
        "organisation-history": f"/organisations/{organisation}/history",
        "organisation-new": "/organisations/new",
        "organisation-edit": f"/organisations/{organisation}/edit",
        "spend-upload": "/spend/upload",
    }
    failures = look_at_each(page, live_server, pages, "officer")
    assert not failures, "\n\n".join(failures)
    assert problems == []
