"""Supplier names: normalising, the matching ladder, name rules, remembered resolutions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mapping.errors import ValidationError
from mapping.register.records import upsert_records
from mapping.spend.store import import_spend
from mapping.spend.suppliers import (
    classify_suppliers,
    infer_legal_forms,
    match_suppliers,
    normalise_supplier_names,
    resolve_supplier,
    supplier_matches_frame,
)
from mapping.store.database import Store

REGISTER = pd.DataFrame({
    "id": [1, 2, 3, 4, 5],
    "name": ["Acme Care Limited", "Helping Hands Homecare", "Riverside Trust", "Twin Ltd",
             "Twin Limited"],
    "company_number": ["01234567", None, None, None, None],
    "charity_number": [None, None, "1100001", None, None],
    "legal_form_key": ["private-limited-company", "community-interest-company", "charity",
                       "unknown", "unknown"],
    "ownership_class": ["extractive", "generative", "generative", "unknown", "unknown"],
    "national_footprint": [False, False, True, None, None],
})


@pytest.mark.parametrize(("name", "legal_form", "klass"), [
    ("Bright Futures CIC", "community-interest-company", "generative"),
    ("Bright Futures Community Interest Company Ltd", "community-interest-company", "generative"),
    ("Brixton Care Co-operative Ltd", "co-operative", "generative"),
    ("Lambeth Carers Charity", "charity", "generative"),
    ("Smith & Jones LLP", "limited-liability-partnership", "extractive"),
    ("Big Care Group PLC", "public-limited-company", "extractive"),
    ("Guy's and St Thomas' NHS Foundation Trust", "nhs-body", "unknown"),
    ("London Borough of Southwark", "council-in-house", "in-house"),
    ("Croydon Council", "council-in-house", "in-house"),
    ("The Brixton Trust", "trust", "generative"),
    ("Mitcham Lane Ltd", "private-limited-company", "extractive"),
    ("Mitcham Lane Limited", "private-limited-company", "extractive"),
    ("Direct Payment Account 12", "direct-payment", "generative"),
    ("Mrs A Smith", "individual", "generative"),
    ("170 Community Project", "unknown", "unknown"),
])
def test_each_name_rule(name: str, legal_form: str, klass: str) -> None:
    found = infer_legal_forms(pd.Series([name])).iloc[0]
    assert (found["legal_form"], found["ownership_class"]) == (legal_form, klass)
    assert (found["evidence"] is None) == (klass == "unknown" and legal_form == "unknown")


def test_names_normalise_to_one_key() -> None:
    keys = normalise_supplier_names(pd.Series(["Veolia ES (UK) Ltd.", "VEOLIA ES UK LIMITED",
                                               "Smith & Co", "smith and company"]))
    assert keys[0] == keys[1] == "veolia es uk limited"
    assert keys[2] == keys[3] == "smith and company"


def test_matching_ladder() -> None:
    suppliers = pd.DataFrame({
        "supplier_key": normalise_supplier_names(pd.Series([
            "Something Else Ltd",          # company number 1234567 -> zero-padded -> Acme
            "Riverside",                   # charity number -> 3
            "Helping Hands Homecare Ltd",  # name without the legal suffix -> 2
            "Helping Hands Home Care",     # fuzzy -> 2
            "Twin",                        # two register names normalise alike: not matched by name
            "Nobody We Know",              # unmatched
        ])),
        "company_number": ["1234567", None, None, None, None, None],
        "charity_number": [None, "1100001", None, None, None, None],
    })
    out = match_suppliers(suppliers, REGISTER, threshold=85)
    assert out["method"].tolist() == ["company-number", "charity-number", "name", "fuzzy",
                                      "unmatched", "unmatched"]
    assert out["organisation_id"].tolist()[:4] == [1, 3, 2, 2]
    assert out["score"].iloc[3] >= 85 and out["score"].iloc[2] == 100
    strict = match_suppliers(suppliers, REGISTER, threshold=99.5)
    assert strict["method"].iloc[3] == "unmatched"
    with pytest.raises(ValidationError, match="0-100"):
        match_suppliers(suppliers, REGISTER, threshold=120)


def test_class_from_the_register_wins_over_the_name_and_national_charities_are_flagged() -> None:
    names = pd.Series(["Acme Care CIC", "Riverside", "Nobody Ltd"])
    matches = pd.DataFrame({"supplier_key": normalise_supplier_names(names),
                            "organisation_id": pd.array([1, 3, pd.NA], dtype="Int64"),
                            "method": ["name", "charity-number", "unmatched"],
                            "score": [100.0, 100.0, None]})
    out = classify_suppliers(matches, names, REGISTER, national=frozenset())
    assert out["ownership_class"].tolist() == ["extractive", "generative", "extractive"]
    assert out["class_source"].tolist() == ["register", "register", "inferred"]
    assert out["national_charity"].tolist() == [False, True, False]
    listed = classify_suppliers(matches, names, REGISTER, national=frozenset({"nobody"}))
    assert listed["national_charity"].tolist()[2] is False  # extractive: never a charity


def _add_register(store: Store) -> None:
    frame = REGISTER.drop(columns="id").assign(
        external_id=[f"org-{i}" for i in range(5)])
    with store.transaction() as session:
        upsert_records(session, "organisation", frame, changed_by="test")


def test_officer_resolution_is_remembered_by_the_next_import(tmp_path: Path,
                                                            store: Store) -> None:
    _add_register(store)
    path = tmp_path / "june.csv"
    path.write_text("Supplier,Amount\nAcme Care Ltd,100.00\nMystery Provider,50.00\n",
                    encoding="utf-8")
    first = import_spend(store, path, name="june", imported_by="test")
    assert first.matches["name"] == 1 and first.matches["unmatched"] == 1
    with store.transaction() as session:
        resolve_supplier(session, "mystery provider", resolved_by="officer",
                         ownership_class="generative", legal_form="co-operative",
                         note="Co-operatives UK listing")
    with store.transaction() as session:
        ids = supplier_matches_frame(session).set_index("supplier_key")["id"]
    second = import_spend(store, path, name="july", imported_by="test")
    assert second.matches["officer"] == 1 and second.matches["unmatched"] == 0
    with store.transaction() as session:
        matches = supplier_matches_frame(session).set_index("supplier_key")
    # Each supplier keeps its id, so links to its review page still work after an import.
    pd.testing.assert_series_equal(matches["id"].sort_index(), ids.sort_index())
    with store.transaction() as session:
        with pytest.raises(ValidationError, match="not both"):
            resolve_supplier(session, "mystery provider", resolved_by="o")
    mystery = matches.loc["mystery provider"]
    assert (mystery["method"], mystery["ownership_class"], mystery["resolved_by"]) == (
        "officer", "generative", "officer")
    assert "Co-operatives UK" in mystery["evidence"]
    assert matches.loc["acme care limited", "organisation_name"] == "Acme Care Limited"


def test_a_match_found_on_a_later_import_updates_the_same_row(tmp_path: Path,
                                                              store: Store) -> None:
    path = tmp_path / "june.csv"
    path.write_text("Supplier,Amount\nHelping Hands Homecare,100.00\n", encoding="utf-8")
    import_spend(store, path, name="june", imported_by="test")
    with store.transaction() as session:
        before = supplier_matches_frame(session).set_index("supplier_key")
    _add_register(store)  # the register grows between the two imports

    import_spend(store, path, name="july", imported_by="test")

    with store.transaction() as session:
        after = supplier_matches_frame(session).set_index("supplier_key")
    key = "helping hands homecare"
    assert before.loc[key, "method"] == "unmatched"
    assert (after.loc[key, "method"], after.loc[key, "organisation_name"]) == (
        "name", "Helping Hands Homecare")
    assert after.loc[key, "ownership_class"] == "generative"
    assert after.loc[key, "id"] == before.loc[key, "id"]  # the same row: its link still works
