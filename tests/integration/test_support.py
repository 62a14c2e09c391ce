"""/.well-known/matrix/support from the tenant's [tenants.support]."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import server_config
from tests.integration.harness import RevierProcess, server_env

SUPPORT = "/.well-known/matrix/support"
SECTION = """
[tenants.support]
support_page = "https://intranet.police.example/matrix-help"
[[tenants.support.contacts]]
role = "m.role.admin"
matrix_id = "@helpdesk:localhost"
email_address = "helpdesk@police.example"
[[tenants.support.contacts]]
role = "m.role.security"
email_address = "security@police.example"
"""


@pytest.fixture(scope="module")
def support_server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> Iterator[RevierProcess]:
    # One tenant with a policy section, so the [[tenants]] table the support
    # section belongs to is the file's last.
    config = server_config(engine, request, tmp_root, "support", tenant_policy={})
    config.write_text(config.read_text() + SECTION)
    server = RevierProcess(data_dir=config.parent, config=config, env=server_env())
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_configured_contacts_are_served(support_server: RevierProcess) -> None:
    async with httpx.AsyncClient(base_url=support_server.url, timeout=30) as http:
        r = await http.get(SUPPORT)  # no token: it is for those who can't log in
    assert r.status_code == 200, r.text
    assert r.json() == {
        "contacts": [
            {
                "role": "m.role.admin",
                "matrix_id": "@helpdesk:localhost",
                "email_address": "helpdesk@police.example",
            },
            {"role": "m.role.security", "email_address": "security@police.example"},
        ],
        "support_page": "https://intranet.police.example/matrix-help",
    }


async def test_without_a_section_it_is_404(http: httpx.AsyncClient) -> None:
    r = await http.get(SUPPORT)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
