"""The pages' pure helpers: the language from Accept-Language, the local-only
``next``, and the cookie's name over https."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from revier.api.web.page import cookie_name, lang
from revier.api.web.session import safe_next


def request(headers: dict[str, str], scheme: str = "http") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "scheme": scheme,
        "server": ("localhost", 443 if scheme == "https" else 80),
        "headers": [(b"host", b"localhost"), *raw],
        "path": "/",
        "query_string": b"",
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "en"),
        ("de", "de"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("en-GB,de;q=0.5", "en"),
        ("fr-FR,de;q=0.7,en;q=0.3", "de"),
        ("de;q=0.2,en;q=0.9", "en"),
        ("de;q=0,en", "en"),
        ("de;q=nonsense,en;q=0.1", "en"),
        ("fr, it", "en"),
        ("EN-us;q=0.8, DE-at", "de"),
    ],
)
def test_language_by_the_browser_s_preference(header: str, expected: str) -> None:
    assert lang(request({"Accept-Language": header})) == expected


@pytest.mark.parametrize(
    "value",
    [
        "/_revier/account",
        "/_revier/oauth2/authorize?client_id=a&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        "/",
    ],
)
def test_local_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "evil.example/path",
        "http:/evil.example",
        "/" + "a" * 5000,
    ],
)
def test_anything_else_goes_to_the_account_page(value: str | None) -> None:
    assert safe_next(value) == "/_revier/account"


def test_the_host_prefix_only_over_https() -> None:
    # Over https the cookie is pinned to this host (__Host-: Secure, Path=/, no Domain).
    assert cookie_name(request({}, scheme="https"), "revier_session") == "__Host-revier_session"
