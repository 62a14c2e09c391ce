from __future__ import annotations

import pytest
from pydantic import ValidationError

from revier.config import TenantPolicy
from revier.policy.client_versions import ClientVersion, parse_user_agent, required_version

ELEMENT_X_ANDROID = "Element X/25.03.3 (Xiaomi Mi 9T; Android 11; RKQ1.200826.002; Sdk c344b155c)"
ELEMENT_X_IOS = "Element X/25.03.1 (iPhone; iOS 18.3; Scale/3.00)"
ELEMENT_ANDROID = (
    "Element/1.6.20 (Google Pixel 7; Android 14; UP1A; Flavour GooglePlay; "
    "MatrixAndroidSdk2 1.6.20)"
)
ELEMENT_IOS = "Element/1.11.20 (iPhone; iOS 17.4; Scale/3.00)"
ELEMENT_DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Element/1.11.85 Chrome/128.0.6613.186 Electron/32.2.6 Safari/537.36"
)
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/128.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "name", "version"),
    [
        (ELEMENT_X_ANDROID, "Element X Android", "25.03.3"),
        (ELEMENT_X_IOS, "Element X iOS", "25.03.1"),
        (ELEMENT_ANDROID, "Element Android", "1.6.20"),
        (ELEMENT_IOS, "Element iOS", "1.11.20"),
        (ELEMENT_DESKTOP, "Element Desktop", "1.11.85"),
        ("FluffyChat/1.20.0", "FluffyChat", "1.20.0"),
        ("python-httpx/0.27.0", "python-httpx", "0.27.0"),
    ],
)
def test_the_client_is_read_from_the_user_agent(agent: str, name: str, version: str) -> None:
    assert parse_user_agent(agent) == ClientVersion(name, version)


@pytest.mark.parametrize("agent", [None, "", BROWSER, "curl", "Element X", "x" * 5000])
def test_agents_naming_no_client_give_none(agent: str | None) -> None:
    assert parse_user_agent(agent) is None


def test_minimums_compare_versions_as_numbers_by_name_or_family() -> None:
    x = parse_user_agent(ELEMENT_X_ANDROID)
    assert required_version(x, {"Element X": "25.10.0"}) == "25.10.0"
    assert required_version(x, {"Element X": "25.3"}) is None
    assert required_version(x, {"Element X": "25.03.3"}) is None
    assert required_version(x, {"Element X": "1.0", "Element X Android": "26"}) == "26"
    assert required_version(x, {"Element X iOS": "99"}) is None
    desktop = parse_user_agent(ELEMENT_DESKTOP)
    assert required_version(desktop, {"Element": "1.11.100"}) == "1.11.100"
    # Element Android is not Element Desktop: "Element" doesn't cover it.
    assert required_version(parse_user_agent(ELEMENT_ANDROID), {"Element": "1.11.100"}) is None
    assert required_version(None, {"Element": "9"}) is None
    assert required_version(ClientVersion("Element X", "dev"), {"Element X": "1"}) is None


def test_the_policy_refuses_what_is_not_a_version() -> None:
    TenantPolicy(min_client_versions={"Element X": "25.10.0"})
    with pytest.raises(ValidationError, match="not a version"):
        TenantPolicy(min_client_versions={"Element X": "latest"})
    with pytest.raises(ValidationError, match="not a client name"):
        TenantPolicy(min_client_versions={" ": "1.0"})
