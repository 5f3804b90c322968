"""Manifests: the shipped ones read, every key is documented, bad ones name every problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mapping.boroughs.manifest import KEYS, read_manifest
from mapping.config import PROJECT_ROOT, REFERENCE_DIR
from mapping.errors import ValidationError


@pytest.mark.parametrize("name", ["newham.toml", "newham_2011.toml"])
def test_the_shipped_manifests_read(name: str, data_dir: Path) -> None:
    m = read_manifest(REFERENCE_DIR / "boroughs" / name)
    assert m.borough.code == "E09000025" and m.borough.living_wage_name == "London Living Wage"
    for path in [b.path for b in m.boundaries] + [a.path for a in m.assets]:
        assert (data_dir / path).is_file(), path


def test_every_manifest_key_is_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up your own borough", 1)[1].split("\n## ", 1)[0]
    for name, keys in KEYS.items():
        assert f"`[{name}]`" in section or f"`[[{name}]]`" in section, name
        for key in keys:
            assert re.search(rf"`{re.escape(key)}`", section), f"{name}.{key}"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "borough.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_manifest_names_every_problem_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, """
[borough]
name = "Testborough"
colour = "blue"

[[assets]]
key = "a"
layout = "spreadsheet"
path = "a.csv"
category = "school"
category_column = "kind"

[[assets]]
key = "a"
layout = "csv"

[extras]
x = 1
""")
    with pytest.raises(ValidationError) as info:
        read_manifest(path)
    reasons = {(p.field, p.reason.split(" (")[0]) for p in info.value.problems}
    assert ("borough.code", "'code' is required") in reasons
    assert ("borough.colour", "unknown key 'colour'") in reasons
    assert ("assets[1].layout", "unknown layout 'spreadsheet'") in reasons
    assert ("assets[1]", "give a category or a category column, not both") in reasons
    assert ("assets[2].path", "'path' is required") in reasons
    assert ("assets.key", "'a' is given twice") in reasons
    assert ("extras", "unknown section 'extras'") in reasons
    assert all(p.file == "borough.toml" for p in info.value.problems)


def test_not_toml_and_a_bad_code_are_plain_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot be read as TOML"):
        read_manifest(_write(tmp_path, "[borough\ncode ="))
    with pytest.raises(ValidationError) as info:
        read_manifest(_write(tmp_path, '[borough]\ncode = "E05000475"\nname = "A ward"\n'))
    assert info.value.problems[0].field == "borough.code"
    assert "not the ONS GSS code of a local authority" in info.value.problems[0].reason


def test_category_codes_and_cqc_filters_are_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, """
[borough]
code = "E08000011"
name = "Knowsley"

[[assets]]
key = "care"
layout = "cqc"
path = "cqc.json"
only_categories = ["nursing_home", "homecare"]
where = ["Dormant (Y/N)=N"]
""")
    with pytest.raises(ValidationError) as info:
        read_manifest(path)
    reasons = [p.reason for p in info.value.problems]
    assert "'nursing_home' is not a category code of data/categories.csv" in reasons
    assert any(r.startswith("layout cqc reads its own columns") for r in reasons)
