"""schemathesis over the admin API's own document: whatever an admin sends,
never a 5xx.

On a server of its own: fuzzing creates, deactivates and deletes things, which
no other test should meet. schemathesis never puts a NUL character into a
string, which PostgreSQL's text refuses (a 500 where the value reaches a query
unchecked): a probe of every documented string does, on both engines.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from revier.api.admin.openapi import document
from tests.integration.admin_api import shared_admin
from tests.integration.conftest import LOOSE_LIMIT, server_fixture
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, RevierProcess

fuzzed_server = server_fixture("admin-fuzz", ratelimit__login_per_address=LOOSE_LIMIT)


@pytest.fixture(scope="module")
def admin_token(fuzzed_server: RevierProcess) -> str:
    response = httpx.post(
        f"{fuzzed_server.url}/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "admin", "password": INITIAL_ADMIN_PASSWORD},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def admin_schema(fuzzed_server: RevierProcess) -> Any:
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/_revier/admin/v1/openapi.json")
    schema.config.update(base_url=fuzzed_server.url)
    schema.config.generation.update(max_examples=10)
    return schema


schema = schemathesis.pytest.from_fixture("admin_schema")


@pytest.mark.one_engine
@schema.parametrize()
def test_no_admin_request_breaks_the_server(case: Any, admin_token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})
    case.validate_response(response, checks=[not_a_server_error])


NUL = "nul\x00byte"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind $ref and allOf (the shapes openapi.yaml uses)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(document()["components"]["schemas"][name])
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in map(_resolve, schema["allOf"]):
            merged["properties"] |= part.get("properties", {})
            merged["required"] += part.get("required", [])
        return merged
    return schema


def _parameters(item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
        if "$ref" in param:
            param = document()["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
        out.append(param)
    return out


def _probes() -> list[tuple[str, str, dict[str, str], dict[str, Any] | None]]:
    """(method, path, query, body) with a NUL in one string at a time."""
    probes = []
    for template, item in document()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            params = _parameters(item, operation)
            path_names = [p["name"] for p in params if p["in"] == "path"]
            plain = {name: "probe" + secrets.token_hex(4) for name in path_names}
            for name in path_names:
                path = template.format(**{**plain, name: quote(NUL, safe="")})
                probes.append((method, path, {}, None))
            path = template.format(**plain)
            for p in params:
                if p["in"] == "query" and p["schema"].get("type") == "string":
                    probes.append((method, path, {p["name"]: NUL}, None))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = _resolve(body["schema"])
            strings = [
                name
                for name, prop in schema.get("properties", {}).items()
                if "string" in (prop.get("type") or [])
            ]
            for name in strings:
                valid = {r: "probe" + secrets.token_hex(4) for r in schema.get("required", [])}
                probes.append((method, path, {}, {**valid, name: NUL}))
    return probes


async def test_no_nul_character_breaks_an_admin_endpoint(org_server: RevierProcess) -> None:
    admin = shared_admin(org_server)
    failures = []
    probes = _probes()
    # Read from the OpenAPI document: an empty list would prove nothing.
    assert len(probes) > 20, probes
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        for method, path, query, body in probes:
            response = await http.request(
                method.upper(), path, params=query, json=body, headers=admin.headers
            )
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {path} {query} {body}: {response.text}")
    assert failures == []
