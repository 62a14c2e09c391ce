"""The settings object: defaults, the example file, environment overrides, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from revier.config import ConfigError, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "revier" / "config.example.toml"


def test_defaults_are_the_embedded_setup() -> None:
    s = load_settings(environ={})
    assert (s.server.bind_address, s.server.port) == ("127.0.0.1", 8008)
    assert [t.server_name for t in s.tenants] == ["localhost"]
    assert s.database_url == "sqlite:///data/revier.db"
    assert s.tenants[0].policy.max_devices_per_user == 3


def test_the_example_file_is_valid_and_matches_the_defaults() -> None:
    assert load_settings(EXAMPLE, environ={}) == load_settings(environ={})


def test_environment_overrides(tmp_path: Path) -> None:
    env = {
        "REVIER_SERVER__PORT": "8448",
        "REVIER_DATABASE__URL": "postgresql://u@127.0.0.1/db",
        "REVIER_TENANTS__0__SERVER_NAME": "police.example",
        "REVIER_TENANTS__0__POLICY__MAX_DEVICES_PER_USER": "2",
        "REVIER_SERVER__TRUSTED_PROXIES": '["10.0.0.1"]',
        "REVIER_ADMIN_PASSWORD": "from the environment",
        "UNRELATED": "x",
    }
    s = load_settings(environ=env)
    assert s.server.port == 8448
    assert s.database_url == "postgresql://u@127.0.0.1/db"
    assert s.tenants[0].server_name == "police.example"
    assert s.tenants[0].policy.max_devices_per_user == 2
    assert s.server.trusted_proxies == ["10.0.0.1"]
    assert s.initial_admin_password is not None
    assert "from the environment" not in repr(s)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[server]\nport = "x"', "server.port"),
        ("[server]\ntypo = 1", "server.typo"),
        ('[[tenants]]\nserver_name = "bad name!"', "not a valid Matrix server name"),
        ('[[tenants]]\nserver_name = "a"\n[[tenants]]\nserver_name = "a"', "distinct"),
        ('[database]\nurl = "mysql://x"', "sqlite: or postgresql:"),
        ("[[tenants]]\nserver_name = 'a'\n[tenants.policy]\nmax_devices_per_user = 0", "policy"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_invalid_configuration_says_what_is_wrong(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("!", "")):
        load_settings(path, environ={})


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(Path("/nonexistent/revier.toml"), environ={})
