"""SCIM 2.0 discovery (RFC 7644 §4): what this service provider supports —
``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas`` — built from the
same scim2-models classes the endpoints validate with."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Group,
    ListResponse,
    Meta,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.scim.base import BASE, endpoint, location, scim_response
from revier.services.core import Tenant
from revier.services.org import ScimError

_RESOURCES: dict[str, Any] = {"User": User, "Group": Group}
_QUERY = Context.RESOURCE_QUERY_RESPONSE


def _config(request: Request) -> dict[str, Any]:
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=200),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="A token per tenant: revier admin directory scim-token",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig",
            location=str(request.base_url).rstrip("/") + BASE + "/ServiceProviderConfig",
        ),
    )
    return config.model_dump(scim_ctx=_QUERY)


def _resource_type(request: Request, name: str) -> ResourceType:
    rt = ResourceType.from_resource(_RESOURCES[name])
    rt.meta = Meta(resource_type="ResourceType", location=location(request, "ResourceTypes", name))
    return rt


def _schema(name: str) -> Schema:
    schema: Schema = _RESOURCES[name].to_schema()
    return schema


@endpoint
async def service_provider_config(request: Request, tenant: Tenant) -> Response:
    return scim_response(_config(request))


@endpoint
async def resource_types(request: Request, tenant: Tenant) -> Response:
    found = [_resource_type(request, n) for n in _RESOURCES]
    page = ListResponse[ResourceType](
        total_results=len(found), start_index=1, items_per_page=len(found), resources=found
    )
    return scim_response(page.model_dump(scim_ctx=_QUERY))


@endpoint
async def resource_type(request: Request, tenant: Tenant) -> Response:
    name = request.path_params["id"]
    if name not in _RESOURCES:
        raise ScimError(404, f"No resource type {name[:64]!r}")
    return scim_response(_resource_type(request, name).model_dump(scim_ctx=_QUERY))


@endpoint
async def schemas(request: Request, tenant: Tenant) -> Response:
    found = [_schema(n) for n in _RESOURCES]
    page = ListResponse[Schema](
        total_results=len(found), start_index=1, items_per_page=len(found), resources=found
    )
    return scim_response(page.model_dump(scim_ctx=_QUERY))


@endpoint
async def schema(request: Request, tenant: Tenant) -> Response:
    wanted = request.path_params["id"]
    for name in _RESOURCES:
        found = _schema(name)
        if found.id == wanted:
            return scim_response(found.model_dump(scim_ctx=_QUERY))
    raise ScimError(404, f"No schema {wanted[:100]!r}")


routes = [
    Route(BASE + "/ServiceProviderConfig", service_provider_config, methods=["GET"]),
    Route(BASE + "/ResourceTypes", resource_types, methods=["GET"]),
    Route(BASE + "/ResourceTypes/{id}", resource_type, methods=["GET"]),
    Route(BASE + "/Schemas", schemas, methods=["GET"]),
    Route(BASE + "/Schemas/{id}", schema, methods=["GET"]),
]
