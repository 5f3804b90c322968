"""The supplier review list (search, filters, pages) and resolving suppliers in bulk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mapping.errors import ValidationError
from mapping.spend.review import ReviewFilter, page_of, review_frame, supplier_subsectors
from mapping.spend.store import import_spend
from mapping.spend.suppliers import bulk_resolve, supplier_matches_frame
from mapping.store.database import Store

MATCHES = pd.DataFrame({
    "id": [1, 2, 3, 4],
    "supplier_key": ["acme care limited", "zed homes limited", "river trust", "bus co"],
    "supplier_name": ["Acme Care Ltd", "Zed Homes Ltd", "River Trust", "Bus Co"],
    "method": ["name", "unmatched", "fuzzy", "unmatched"],
    "ownership_class": ["extractive", "extractive", "generative", "unknown"],
})
SUBSECTORS = pd.DataFrame({"supplier_key": ["acme care limited", "zed homes limited",
                                            "river trust"],
                           "subsectors": [["homecare"], ["residential", "nursing"], ["homecare"]]})


def names(wanted: ReviewFilter) -> list[str]:
    return review_frame(MATCHES, SUBSECTORS, wanted)["supplier_name"].tolist()


def test_search_and_filters() -> None:
    assert names(ReviewFilter()) == ["Bus Co", "Zed Homes Ltd", "River Trust"]  # unmatched first
    assert names(ReviewFilter(status="all")) == ["Bus Co", "Zed Homes Ltd", "River Trust",
                                                 "Acme Care Ltd"]
    assert names(ReviewFilter(status="matched")) == ["Acme Care Ltd"]
    assert names(ReviewFilter(status="all", query="LTD care")) == ["Acme Care Ltd"]
    assert names(ReviewFilter(status="all", ownership_class="extractive")) == [
        "Zed Homes Ltd", "Acme Care Ltd"]
    assert names(ReviewFilter(status="all", subsector="homecare")) == ["River Trust",
                                                                       "Acme Care Ltd"]
    assert names(ReviewFilter(query="nobody")) == []
    with pytest.raises(ValidationError) as caught:
        names(ReviewFilter(status="x", ownership_class="y", subsector="z"))
    assert [p.field for p in caught.value.problems] == ["status", "class", "subsector"]
    assert ReviewFilter(query="a", status="review").query_args() == {"q": "a"}


def test_pages() -> None:
    frame = pd.DataFrame({"n": range(120)})
    rows, page, pages = page_of(frame, 3)
    assert (rows["n"].tolist()[0], len(rows), page, pages) == (100, 20, 3, 3)
    assert page_of(frame, 99)[1] == 3 and page_of(frame, 0)[1] == 1
    assert page_of(frame[:0], 1)[1:] == (1, 1)


def test_bulk_resolve_is_all_or_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text("Supplier,Department,Service,Amount\n"
                    "Acme Care Ltd,Adults' Services,DOMICILIARY CARE PRIVATE SPOT,10.00\n"
                    "River Trust,Adults' Services,NURSING CARE,5.00\n"
                    "Bus Co,Highways,Transport,1.00\n", encoding="utf-8")
    import_spend(store, path, name="Q1", imported_by="t")
    with store.transaction() as session:
        matches = supplier_matches_frame(session).set_index("supplier_name")
        subsectors = supplier_subsectors(session).set_index("supplier_key")["subsectors"]
    assert subsectors.to_dict() == {"acme care limited": ["homecare"], "bus company": ["other"],
                                    "river trust": ["nursing"]}
    ids = [int(matches.loc[n, "id"]) for n in ("Acme Care Ltd", "River Trust")]
    with pytest.raises(ValidationError) as caught, store.transaction() as session:
        bulk_resolve(session, [*ids, 999], resolved_by="o", ownership_class="nonsense")
    assert len(caught.value.problems) == 2 and "nothing was saved" in str(caught.value)
    with pytest.raises(ValidationError, match="tick its box"), store.transaction() as session:
        bulk_resolve(session, [], resolved_by="o")
    with store.transaction() as session:
        assert set(supplier_matches_frame(session)["method"]) == {"unmatched"}
    with store.transaction() as session:  # mark reviewed: each keeps its class and evidence
        assert bulk_resolve(session, ids, resolved_by="o") == ["Acme Care Ltd", "River Trust"]
    with store.transaction() as session:
        after = supplier_matches_frame(session).set_index("supplier_name")
    assert after.loc["Acme Care Ltd", "ownership_class"] == "extractive"
    assert after.loc["Acme Care Ltd", "legal_form"] == matches.loc["Acme Care Ltd", "legal_form"]
    assert after.loc["River Trust", "method"] == "officer"
    assert str(after.loc["Acme Care Ltd", "evidence"]).startswith("officer: reviewed, class kept")
    assert after.loc["Bus Co", "method"] == "unmatched"
    with store.transaction() as session:
        bulk_resolve(session, ids[:1], resolved_by="o", ownership_class="generative",
                     note="a social enterprise")
    with store.transaction() as session:
        acme = supplier_matches_frame(session).set_index("supplier_name").loc["Acme Care Ltd"]
    assert (acme["ownership_class"], acme["evidence"]) == ("generative",
                                                           "officer: a social enterprise")
