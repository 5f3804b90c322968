"""Tests for mapping.register.legal_forms: CLES Appendix 1 and the Companies House vocabularies."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from mapping.errors import DataMissingError, ValidationError
from mapping.register.legal_forms import (
    LegalFormClass,
    classify_legal_form,
    classify_legal_forms,
    load_legal_form_rules,
    normalise_legal_form,
    ownership_class,
    ownership_classes,
)
from mapping.schema import OWNERSHIP_CLASSES, OWNERSHIP_MODELS

PROJECT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("MAPPING_DATA_DIR", PROJECT.parent / "shared" / "data"))
CH_DIR = DATA_DIR / "reference" / "companies_house"

# CLES (2020) Appendix 1: Definition of generative vs extractive, in the report's spelling.
APPENDIX_1 = {
    "Community Interest Company": "generative",
    "Industrial and Provident Society": "generative",
    "Registered Society": "generative",
    "PRI/LBG/NSC (Private, Limited by guarantee, no share capital, use of 'Limited' exemption)":
        "generative",
    "PRI/LTD BY GUAR/NSC (Private, limited by guarantee, no share capital)": "generative",
    "European Public Limited-Liability Company (SE)": "extractive",
    "Investment Company with Variable Capital (Securities)": "extractive",
    "Investment Company with Variable Capital (Umbrella)": "extractive",
    "Limited Liability Partnership": "extractive",
    "Limited Partnership": "extractive",
    "Old Public Company": "extractive",
    "Other company type": "extractive",
    "PRIV LTD SECT. 30 (Private limited company, section 30 of the Companies Act)": "extractive",
    "Private Limited Company": "extractive",
    "Private Unlimited": "extractive",
    "Private Unlimited Company": "extractive",
    "Public Limited Company": "extractive",
    "Scottish Partnership": "extractive",
}


def _spellings(form: str) -> list[str]:
    return [
        form,
        form.upper(),
        form.lower(),
        form.swapcase(),
        "  " + form.replace(" ", "   ") + " \t",
        form.replace(" ", "\u00a0", 1) + "\n",
    ]


def _yaml_section(path: Path, section: str) -> dict[str, str]:
    """Read one flat ``'key' : "description"`` section of the enumerations YAML.

    PyYAML is not a dependency, and the file's sections are flat, so a strict line
    parser is enough: any indented line it does not understand fails the test
    rather than being skipped.
    """
    entry = re.compile(r"""^\s+'([^']+)'\s*:\s*"([^"]*)"\s*$""")
    out: dict[str, str] = {}
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            inside = line.rstrip() == f"{section}:"
            continue
        if inside:
            found = entry.match(line)
            if found is None:
                raise ValueError(f"cannot parse {section} line: {line!r}")
            out[found[1]] = found[2]
    if not out:
        raise ValueError(f"no {section} section in {path}")
    return out


ENUMS = CH_DIR / "api_enumerations_constants.yml"
COMPANY_TYPE = _yaml_section(ENUMS, "company_type")
COMPANY_SUBTYPE = _yaml_section(ENUMS, "company_subtype")
COMPANY_SUMMARY = _yaml_section(ENUMS, "company_summary")
BULK = pd.read_csv(
    CH_DIR / "basic_company_data_sample_1000rows_2018.csv", dtype=str, keep_default_na=False
)
with (CH_DIR / "company_category_values.csv").open(encoding="utf-8", newline="") as _f:
    CATEGORY_VALUES = [row["company_category"] for row in csv.DictReader(_f)]


# --- (a) CLES Appendix 1 ------------------------------------------------------------


@pytest.mark.parametrize(("form", "expected"), APPENDIX_1.items())
def test_appendix_1_form_gets_the_report_class(form: str, expected: str) -> None:
    for spelling in _spellings(form):
        got = classify_legal_form(spelling)
        assert got.matched, spelling
        assert got.ownership_class == expected, spelling


def test_rules_file_lists_exactly_the_appendix_1_forms() -> None:
    rules = load_legal_form_rules()
    appendix = rules[rules["vocabulary"] == "cles-appendix-1"]
    assert dict(zip(appendix["match"], appendix["ownership_class"], strict=True)) == APPENDIX_1


def test_charities_cios_co_operatives_generative_and_council_in_house() -> None:
    for form in ("Charity", "Registered charity", "CIO", "Co-operative", "Cooperative", "CIC",
                 "Community benefit society", "Bencom"):
        assert classify_legal_form(form).ownership_class == "generative", form
    for form in ("Council", "In-house", "Municipal company", "Arm’s-length company"):
        assert classify_legal_form(form).ownership_class == "in-house", form
    for form in ("Ltd", "Ltd.", "Limited", "PLC", "LLP"):
        assert classify_legal_form(form).ownership_class == "extractive", form


def test_exact_match_not_substring() -> None:
    assert classify_legal_form("Limited").legal_form == "private-limited-company"
    assert classify_legal_form("Limited Partnership").legal_form == "limited-partnership"
    assert not classify_legal_form("Acme Ltd").matched
    assert not classify_legal_form("Charity shop").matched


# --- (b) Companies House API enumerations ------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [*COMPANY_TYPE, *COMPANY_TYPE.values(), *COMPANY_SUBTYPE, *COMPANY_SUBTYPE.values(),
     *COMPANY_SUMMARY.values()],
)
def test_companies_house_api_value_is_matched(value: str) -> None:
    got = classify_legal_form(value)
    assert got.matched
    assert got.ownership_class in OWNERSHIP_CLASSES


def test_yaml_reader_found_the_known_sections() -> None:
    assert len(COMPANY_TYPE) >= 35
    assert COMPANY_TYPE["ltd"] == "Private limited company"
    assert set(COMPANY_SUBTYPE) >= {"community-interest-company", "slp"}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("private-limited-guarant-nsc", "generative"),
        ("private-limited-guarant-nsc-limited-exemption", "generative"),
        ("charitable-incorporated-organisation", "generative"),
        ("scottish-charitable-incorporated-organisation", "generative"),
        ("registered-society-non-jurisdictional", "generative"),
        ("industrial-and-provident-society", "generative"),
        ("community-interest-company", "generative"),
        ("ltd", "extractive"),
        ("plc", "extractive"),
        ("llp", "extractive"),
        ("limited-partnership", "extractive"),
        ("private-unlimited", "extractive"),
        ("old-public-company", "extractive"),
        ("other", "extractive"),
        ("european-public-limited-liability-company-se", "extractive"),
        ("investment-company-with-variable-capital", "extractive"),
        ("icvc-securities", "extractive"),
        ("icvc-umbrella", "extractive"),
        ("scottish-partnership", "extractive"),
        ("private-limited-shares-section-30-exemption", "extractive"),
        ("converted-or-closed", "unknown"),
    ],
)
def test_companies_house_key_class(key: str, expected: str) -> None:
    assert classify_legal_form(key).ownership_class == expected


def test_api_key_and_its_description_agree() -> None:
    for key, description in {**COMPANY_TYPE, **COMPANY_SUBTYPE}.items():
        by_key = classify_legal_form(key).ownership_class
        assert classify_legal_form(description).ownership_class == by_key, key


# --- (c) Companies House bulk CompanyCategory ------------------------------------------


@pytest.mark.parametrize("value", sorted(set(BULK["CompanyCategory"]) | set(CATEGORY_VALUES)))
def test_companies_house_bulk_category_is_matched(value: str) -> None:
    assert classify_legal_form(value).matched


def test_bulk_sample_shares_by_class() -> None:
    # Hand count from PROVENANCE.md: 32 + 10 guarantee, 6 IPS, 5 CIC, 3 Royal Charter.
    counts = classify_legal_forms(BULK["CompanyCategory"])["ownership_class"].value_counts()
    assert counts.to_dict() == {"extractive": 944, "generative": 56}


# --- (d) vectorised agrees with scalar ---------------------------------------------------


def _scalar_frame(values: pd.Series) -> pd.DataFrame:
    got = [classify_legal_form(v) for v in values]
    return pd.DataFrame(
        {"legal_form": [g.legal_form for g in got],
         "ownership_class": [g.ownership_class for g in got]},
        index=values.index,
    )


def test_vectorised_agrees_with_scalar_on_bulk_sample() -> None:
    values = BULK["CompanyCategory"]
    pd.testing.assert_frame_equal(
        classify_legal_forms(values), _scalar_frame(values), check_dtype=False
    )


def test_vectorised_keeps_index_and_handles_missing() -> None:
    values = pd.Series(
        ["Ltd", None, " cic ", "nonsense", float("nan"), "", "Ltd", "Arm’s-length company"],
        index=[7, 7, 3, 2, 1, 0, 9, 4],
        dtype=object,
    )
    got = classify_legal_forms(values)
    assert list(got.columns) == ["legal_form", "ownership_class"]
    assert got.index.equals(values.index)
    assert list(got["ownership_class"]) == [
        "extractive", "unknown", "generative", "unknown", "unknown", "unknown", "extractive",
        "in-house",
    ]
    pd.testing.assert_frame_equal(got, _scalar_frame(values), check_dtype=False)
    assert values.iloc[1] is None  # the input is not changed


def test_vectorised_on_empty_series() -> None:
    got = classify_legal_forms(pd.Series([], dtype=object))
    assert got.empty and list(got.columns) == ["legal_form", "ownership_class"]


def test_vectorised_rejects_non_series() -> None:
    with pytest.raises(TypeError, match="list"):
        classify_legal_forms(["Ltd"])  # type: ignore[arg-type]


# --- (e) blank / None / unknown ----------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n", float("nan"), "unknown", "N/A",
                                   "Not known", "limited liability"])
def test_blank_or_unknown_gives_unknown(value: str | None) -> None:
    assert classify_legal_form(value) == LegalFormClass("unknown", "unknown", matched=False)


def test_normalise_legal_form() -> None:
    assert normalise_legal_form("  Private \u00a0 Limited\tCompany. ") == "private limited company"
    assert normalise_legal_form("Ltd. .") == "ltd"
    assert normalise_legal_form("Arm’s-length") == "arm's-length"
    assert normalise_legal_form("PRIV LTD SECT. 30 (x)") == "priv ltd sect. 30 (x)"
    assert normalise_legal_form(None) == ""
    with pytest.raises(TypeError, match="int"):
        normalise_legal_form(30)  # type: ignore[arg-type]


# --- (f) ownership class fallback ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("in-house", "in-house"),
        ("municipal enterprise", "in-house"),
        ("worker ownership", "generative"),
        ("community ownership", "generative"),
        ("local private triple bottom line", "generative"),
        ("extractive", "extractive"),
        ("  Worker   Ownership ", "generative"),
        ("local_private_triple_bottom_line", "generative"),
        ("something else", "unknown"),
        (None, "unknown"),
    ],
)
def test_ownership_class_falls_back_to_model(model: str | None, expected: str) -> None:
    assert ownership_class(None, model) == expected
    assert ownership_class("not a legal form", model) == expected
    # converted-or-closed is matched but says nothing about ownership
    assert ownership_class("converted-or-closed", model) == expected


def test_every_ownership_model_has_a_class() -> None:
    for model in OWNERSHIP_MODELS:
        assert ownership_class(None, model) != "unknown", model


def test_legal_form_class_wins_over_model() -> None:
    assert ownership_class("Charity", "extractive") == "generative"
    assert ownership_class("Ltd", "community ownership") == "extractive"
    assert ownership_class("Municipal company", "extractive") == "in-house"


def test_ownership_classes_vectorised() -> None:
    forms = pd.Series(["Ltd", None, "Sole trader", "CIC", "junk", None], index=list("abcdef"))
    models = pd.Series(
        ["community ownership", "in-house", "local private triple bottom line", "extractive",
         None, "Municipal Enterprise"],
        index=list("abcdef"),
    )
    got = ownership_classes(forms, models)
    assert got.name == "ownership_class"
    assert got.index.equals(forms.index)
    assert list(got) == ["extractive", "in-house", "generative", "generative", "unknown",
                         "in-house"]
    assert list(got) == [ownership_class(f, m) for f, m in zip(forms, models, strict=True)]


def test_ownership_classes_needs_one_index() -> None:
    with pytest.raises(ValidationError):
        ownership_classes(pd.Series(["Ltd"], index=[1]), pd.Series(["extractive"], index=[2]))


# --- (g) a broken rules file -----------------------------------------------------------------


def _write_rules(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["match", "legal_form", "ownership_class", "vocabulary", "note"])
        writer.writerows(rows)
    return path


def test_broken_rules_file_lists_every_problem(tmp_path: Path) -> None:
    path = _write_rules(tmp_path / "rules.csv", [
        ["Ltd", "private-limited-company", "extractive", "common", ""],         # row 1: fine
        ["CIC", "community-interest-company", "good", "common", ""],            # row 2: bad class
        ["Limited", "private-limited-company", "extractive", "common", ""],     # row 3
        ["  LIMITED. ", "company-limited-by-guarantee", "generative", "common", ""],  # row 4
        # row 5: the same spelling again in another vocabulary, with the same result: fine
        ["ltd", "private-limited-company", "extractive", "companies-house-api", ""],
        ["", "charity", "generative", "nowhere", ""],                           # row 6: 2 problems
    ])
    with pytest.raises(ValidationError) as caught:
        load_legal_form_rules(path)
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {
        (2, "ownership_class"),
        (3, "match"),
        (4, "match"),
        (6, "match"),
        (6, "vocabulary"),
    }
    assert all(p.file == "rules.csv" for p in caught.value.problems)
    assert "row 2" in str(caught.value) and "row 4" in str(caught.value)


def test_rules_file_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text("match,legal_form\nLtd,private-limited-company\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_legal_form_rules(path)
    assert {p.field for p in caught.value.problems} == {"ownership_class", "vocabulary", "note"}


def test_rules_file_missing(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError):
        load_legal_form_rules(tmp_path / "absent.csv")


def test_custom_rules_file_is_used(tmp_path: Path) -> None:
    path = _write_rules(tmp_path / "rules.csv", [
        ["Mutual", "mutual", "generative", "common", ""],
    ])
    assert classify_legal_form("mutual", rules_path=path).ownership_class == "generative"
    assert not classify_legal_form("Ltd", rules_path=path).matched


def test_loaded_rules_are_a_copy() -> None:
    first = load_legal_form_rules()
    first.loc[:, "ownership_class"] = "unknown"
    assert (load_legal_form_rules()["ownership_class"] != "unknown").any()
    assert classify_legal_form("Ltd").ownership_class == "extractive"
