from pathlib import Path

import pytest

from mapping.config import PROJECT_ROOT, Settings, load_settings, setting_help


def test_defaults_put_sqlite_in_the_instance_folder() -> None:
    settings = load_settings(environ={})
    assert settings.resolved_database_url == f"sqlite:///{PROJECT_ROOT / 'instance' / 'mapping.sqlite3'}"
    assert settings.data_dir == PROJECT_ROOT.parent / "shared" / "data"


def test_environment_wins_over_overrides() -> None:
    settings = load_settings(
        {"database_url": "sqlite:///a.db", "borough_name": "Knowsley"},
        environ={"MAPPING_DATABASE_URL": "sqlite:///b.db", "MAPPING_DATA_DIR": "/tmp/x"},
    )
    assert settings.database_url == "sqlite:///b.db"
    assert settings.borough_name == "Knowsley"
    assert settings.data_dir == Path("/tmp/x")


def test_unknown_and_empty_values_are_ignored() -> None:
    settings = load_settings({"no_such_setting": 1, "tile_url": None}, environ={"MAPPING_TILE_URL": ""})
    assert settings.tile_url == ""


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        load_settings(environ={}).borough_code = "E09000001"  # type: ignore[misc]


def test_every_setting_has_help_and_is_in_the_readme() -> None:
    help_text = setting_help()
    names = set(Settings.__dataclass_fields__)
    assert set(help_text) == names
    assert all(len(text) > 10 for text in help_text.values())
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n for n in names if f"MAPPING_{n.upper()}" not in readme]
    assert not missing, f"settings not documented in README.md: {missing}"


def test_a_tile_server_without_attribution_is_refused() -> None:
    from mapping.errors import ValidationError

    with pytest.raises(ValidationError, match="MAPPING_TILE_ATTRIBUTION"):
        load_settings(environ={"MAPPING_TILE_URL": "https://tiles/{z}/{x}/{y}.png"})
    with pytest.raises(ValidationError, match="whole number"):
        load_settings(environ={"MAPPING_PROXY_HOPS": "two"})
    assert load_settings(environ={"MAPPING_PROXY_HOPS": "1"}).proxy_hops == 1
