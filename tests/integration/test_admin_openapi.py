"""The admin API's OpenAPI document and the served routes agree, and the
document is valid OpenAPI: what the admin console and scripts read is true."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from starlette.routing import Route

from revier.api.admin.openapi import document
from revier.app import routes
from revier.config_file import load_settings
from tests.integration.harness import RevierProcess

ADMIN = "/_revier/admin/v1/"
METHODS = {"get", "put", "post", "delete", "patch"}


def served() -> set[tuple[str, str]]:
    """(path, method) of every admin route the app serves."""
    out = set()
    for route in routes(load_settings(environ={})):
        path = getattr(route, "path", "")
        if not path.startswith(ADMIN):
            continue
        assert isinstance(route, Route), f"{path}: only plain routes can be documented"
        # Starlette adds HEAD to every GET route by itself.
        out |= {(path, m.lower()) for m in route.methods or () if m != "HEAD"}
    return out


def documented() -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document()["paths"].items()
        for method in item
        if method in METHODS
    }


def test_every_served_admin_route_is_documented_and_vice_versa() -> None:
    routes_ = served()
    docs = documented()
    assert sorted(routes_ - docs) == [], "served but not in openapi.yaml"
    assert sorted(docs - routes_) == [], "in openapi.yaml but not served"


def test_the_document_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(document())
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    for result in schema.get_all_operations():
        result.ok()  # raises when a $ref doesn't resolve or a schema is malformed


def test_every_operation_documents_its_errors() -> None:
    """The brief of every admin endpoint: the Matrix errors a caller can get."""
    missing = []
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses: dict[str, Any] = operation["responses"]
            needed = set()
            if operation.get("security", None) != []:
                needed |= {"401", "403"}
            if "{" in path:
                needed.add("404")
            if "requestBody" in operation or _has_query(item, operation):
                needed.add("400")
            if lacking := needed - set(responses):
                missing.append(f"{method.upper()} {path}: {sorted(lacking)}")
    assert missing == []


@pytest.mark.one_engine
def test_the_served_document_is_the_file(server: RevierProcess) -> None:
    response = httpx.get(f"{server.url}{ADMIN}openapi.json")
    assert response.status_code == 200
    assert response.json() == document()


def _has_query(item: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether the operation takes query parameters (which can be malformed)."""
    params = [*item.get("parameters", []), *operation.get("parameters", [])]
    spec = document()
    for param in params:
        if "$ref" in param:
            name = param["$ref"].rsplit("/", 1)[-1]
            param = spec["components"]["parameters"][name]
        if param.get("in") == "query":
            return True
    return False
