"""Settings: flags beat the environment, which beats defaults; bad values are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.core.settings import Settings, SettingsError, load_settings, setting_docs, with_secret

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_match_the_contract() -> None:
    settings = load_settings({}, {})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.database_url == "sqlite:///var/hearth.db"  # ./var/hearth.db
    assert settings.session_idle_minutes == 15
    assert settings.redis_url is None
    assert settings.ice_server_list == []
    assert settings.base_url == "http://127.0.0.1:8080"


def test_flags_beat_environment_which_beats_defaults() -> None:
    env = {
        "HEARTH_PORT": "9000",
        "HEARTH_DATABASE_URL": "postgresql://db/hearth",
        "HEARTH_SESSION_IDLE_MINUTES": "30",
    }
    settings = load_settings({"port": 9100, "database_url": None}, env)
    assert settings.port == 9100
    assert settings.database_url == "postgresql://db/hearth"
    assert settings.session_idle_minutes == 30


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HEARTH_PORT": "eighty"}, "HEARTH_PORT"),
        ({"HEARTH_SESSION_IDLE_MINUTES": "0"}, "HEARTH_SESSION_IDLE_MINUTES"),
        ({"HEARTH_DATABASE_URL": "mysql://x/y"}, "HEARTH_DATABASE_URL"),
        ({"HEARTH_ICE_SERVERS": "[{"}, "HEARTH_ICE_SERVERS"),
        ({"HEARTH_ICE_SERVERS": '[{"url": "stun:x"}]'}, "HEARTH_ICE_SERVERS"),
        ({"HEARTH_PUBLIC_URL": "ftp://x"}, "HEARTH_PUBLIC_URL"),
        ({"HEARTH_DEMO": "perhaps"}, "HEARTH_DEMO"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings({}, env)


def test_ice_servers_parse_from_json() -> None:
    settings = load_settings(
        {},
        {"HEARTH_ICE_SERVERS": '[{"urls": "turn:t.example", "username": "u", "credential": "c"}]'},
    )
    assert settings.ice_server_list == [
        {"urls": "turn:t.example", "username": "u", "credential": "c"}
    ]


def test_origins_include_the_public_url_and_extras() -> None:
    settings = load_settings(
        {},
        {
            "HEARTH_PUBLIC_URL": "https://care.example.org/",
            "HEARTH_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
        },
    )
    assert settings.origins == {
        "https://care.example.org",
        "https://a.example",
        "https://b.example",
    }
    assert settings.is_https


def test_a_secret_is_required_outside_demo_mode(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HEARTH_SECRET_KEY"):
        with_secret(Settings(var_dir=str(tmp_path)))


def test_demo_mode_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    first = with_secret(Settings(var_dir=str(tmp_path), demo=True))
    second = with_secret(Settings(var_dir=str(tmp_path), demo=True))
    assert first.secret_key and len(first.secret_key) >= 40
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_the_sqlite_file_follows_the_var_directory_unless_a_database_is_named() -> None:
    assert load_settings({}, {"HEARTH_VAR_DIR": "/srv/hearth"}).database_url == (
        "sqlite:////srv/hearth/hearth.db"
    )
    assert load_settings({"var_dir": "data"}, {}).database_url == "sqlite:///data/hearth.db"
    named = {"HEARTH_VAR_DIR": "/srv/hearth", "HEARTH_DATABASE_URL": "sqlite:///other.db"}
    assert load_settings({}, named).database_url == "sqlite:///other.db"


def test_the_readme_lists_every_setting() -> None:
    readme = README.read_text()
    missing = [env for env, _help, _default in setting_docs() if f"`{env}`" not in readme]
    assert missing == []
