"""The settings object: defaults, the example file, environment overrides, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from revier.config import ConfigError, Settings, TenantPolicy
from revier.config_file import load_settings

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


TENANT = '[[tenants]]\nserver_name = "police.example"\n'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            TENANT + "[tenants.policy]\nmax_devices_per_user = 0",
            "tenant 'police.example': policy.max_devices_per_user: "
            "Input should be greater than or equal to 1 (found 0)",
        ),
        (
            TENANT + "[tenants.policy]\nmax_devices_per_user = 101",
            "tenant 'police.example': policy.max_devices_per_user",
        ),
        (
            TENANT + '[tenants.policy]\nroom_encryption = "sometimes"',
            "tenant 'police.example': policy.room_encryption: "
            "Input should be 'default', 'required' or 'optional' (found 'sometimes')",
        ),
        (
            TENANT + "[tenants.policy]\naudit_pseudonymise_after_days = 0",
            "tenant 'police.example': policy.audit_pseudonymise_after_days",
        ),
        (
            TENANT + '[tenants.policy]\npublic_rooms_require_admin = "perhaps"',
            "tenant 'police.example': policy.public_rooms_require_admin",
        ),
        (
            TENANT + "[tenants.policy]\nmax_devices = 2",
            "tenant 'police.example': policy.max_devices: unknown setting (a typo?)",
        ),
        (
            '[[tenants]]\nserver_name = "a.example"\n' + TENANT + "typo = 1",
            "tenant 'police.example': typo: unknown setting",
        ),
        (
            TENANT + '[[tenants]]\nserver_name = "Police.Example"',
            "host 'police.example' would reach two tenants, police.example and Police.Example",
        ),
        (
            TENANT + 'hostnames = ["matrix.example"]\n'
            '[[tenants]]\nserver_name = "b.example"\nhostnames = ["MATRIX.example"]',
            "host 'matrix.example' would reach two tenants, police.example and b.example",
        ),
        (
            TENANT + '[[tenants]]\nserver_name = "b.example"\nhostnames = ["police.example"]',
            "host 'police.example' would reach two tenants",
        ),
        (
            TENANT + 'hostnames = ["not a host"]',
            "tenant 'police.example': hostnames: 'not a host' is not a valid host name",
        ),
    ],
)
def test_an_invalid_tenant_policy_names_the_tenant_and_the_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(path, environ={})


def test_environment_overrides_of_a_policy_are_checked_too() -> None:
    env = {
        "REVIER_TENANTS__0__SERVER_NAME": "police.example",
        "REVIER_TENANTS__0__POLICY__MAX_DEVICES_PER_USER": "1000",
    }
    with pytest.raises(ConfigError, match=re.escape("tenant 'police.example': policy.max_dev")):
        load_settings(environ=env)


def test_push_gateways_are_origins_and_http_only_on_this_machine() -> None:
    env = {
        "REVIER_TENANTS__0__SERVER_NAME": "police.example",
        "REVIER_TENANTS__0__POLICY__PUSH_GATEWAYS": (
            '["https://Push.Police.example", "http://127.0.0.1:8090/_matrix/push/v1/notify"]'
        ),
    }
    policy = load_settings(environ=env).tenants[0].policy
    assert policy.push_gateways == ["https://push.police.example:443", "http://127.0.0.1:8090"]
    for bad in ("http://push.police.example", "ftp://x", "https://u:p@x", "https://x/other"):
        env["REVIER_TENANTS__0__POLICY__PUSH_GATEWAYS"] = f'["{bad}"]'
        with pytest.raises(ConfigError, match="push_gateways"):
            load_settings(environ=env)


def test_the_duty_time_zone_must_exist() -> None:
    env = {
        "REVIER_TENANTS__0__SERVER_NAME": "police.example",
        "REVIER_TENANTS__0__POLICY__TIME_ZONE": "Europe/Berlin",
    }
    assert load_settings(environ=env).tenants[0].policy.time_zone == "Europe/Berlin"
    env["REVIER_TENANTS__0__POLICY__TIME_ZONE"] = "Mars/Olympus"
    with pytest.raises(ConfigError, match="time_zone"):
        load_settings(environ=env)


@pytest.mark.parametrize(
    ("support", "problem"),
    [
        ({}, "needs contacts or a support_page"),
        ({"contacts": [{"role": "m.role.admin"}]}, "needs a matrix_id or an email_address"),
        ({"contacts": [{"role": "boss", "email_address": "a@b.c"}]}, "namespaced role"),
        ({"contacts": [{"role": "m.role.admin", "matrix_id": "helpdesk"}]}, "not a Matrix user ID"),
        ({"contacts": [{"role": "m.role.admin", "email_address": "nobody"}]}, "not an e-mail"),
        ({"support_page": "intranet/help"}, "not a web address"),
        ({"support_page": "https://x.example", "phone": "110"}, "Extra inputs"),
    ],
)
def test_a_support_section_must_be_usable(support: dict[str, object], problem: str) -> None:
    raw = {"tenants": [{"server_name": "police.example", "support": support}]}
    with pytest.raises(ValidationError, match=problem):
        Settings.model_validate(raw)


def test_a_support_section_becomes_the_well_known_body() -> None:
    tenant = {
        "server_name": "police.example",
        "support": {
            "contacts": [{"role": "org.example.duty_desk", "matrix_id": "@desk:police.example"}]
        },
    }
    settings = Settings.model_validate({"tenants": [tenant]})
    support = settings.tenants[0].support
    assert support is not None
    assert support.well_known() == {
        "contacts": [{"role": "org.example.duty_desk", "matrix_id": "@desk:police.example"}]
    }


def test_oauth_only_switches_login_tokens_off() -> None:
    """A login token is behind the password alone: under oauth_only it would sign
    in a device past the second factor."""
    assert TenantPolicy(login="oauth_only").login_token is False
    assert TenantPolicy(login="oauth").login_token is True
    with pytest.raises(ValidationError, match="bypass the second factor"):
        TenantPolicy(login="oauth_only", login_token=True)
