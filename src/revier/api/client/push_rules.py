"""Push rules (spec: Push Notifications, "Push Rules: API").

``ruleId`` is matched as a path so that a sender rule, whose id is a user ID,
may contain "/"; the ``…/enabled`` and ``…/actions`` routes come first so
they are not read as part of a rule id.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, services
from revier.api.responses import json_response
from revier.push import validate_enabled

V3 = "/_matrix/client/v3"
RULE = f"{V3}/pushrules/global/{{kind}}/{{ruleId:path}}"


async def get_push_rules(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/"""
    requester = await authenticate(request)
    return json_response({"global": await services(request).push_rules.ruleset(requester)})


async def get_push_rules_global(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/"""
    requester = await authenticate(request)
    return json_response(await services(request).push_rules.ruleset(requester))


async def get_push_rule(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    requester = await authenticate(request)
    p = request.path_params
    return json_response(
        await services(request).push_rules.get_rule(requester, p["kind"], p["ruleId"])
    )


async def set_push_rule(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    p = request.path_params
    await services(request).push_rules.set_rule(
        requester,
        p["kind"],
        p["ruleId"],
        body,
        before=request.query_params.get("before"),
        after=request.query_params.get("after"),
    )
    return json_response({})


async def delete_push_rule(request: Request) -> Response:
    """DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    requester = await authenticate(request)
    p = request.path_params
    await services(request).push_rules.delete_rule(requester, p["kind"], p["ruleId"])
    return json_response({})


async def is_push_rule_enabled(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    requester = await authenticate(request)
    p = request.path_params
    rule = await services(request).push_rules.get_rule(requester, p["kind"], p["ruleId"])
    return json_response({"enabled": bool(rule.get("enabled", True))})


async def set_push_rule_enabled(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    requester = await authenticate(request)
    enabled = validate_enabled(await read_json_object(request))
    p = request.path_params
    await services(request).push_rules.set_enabled(requester, p["kind"], p["ruleId"], enabled)
    return json_response({})


async def get_push_rule_actions(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    requester = await authenticate(request)
    p = request.path_params
    rule = await services(request).push_rules.get_rule(requester, p["kind"], p["ruleId"])
    return json_response({"actions": rule.get("actions", [])})


async def set_push_rule_actions(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    p = request.path_params
    await services(request).push_rules.set_actions(
        requester, p["kind"], p["ruleId"], body.get("actions")
    )
    return json_response({})


routes = [
    Route(f"{V3}/pushrules/", get_push_rules, methods=["GET"]),
    Route(f"{V3}/pushrules/global/", get_push_rules_global, methods=["GET"]),
    Route(f"{RULE}/enabled", is_push_rule_enabled, methods=["GET"]),
    Route(f"{RULE}/enabled", set_push_rule_enabled, methods=["PUT"]),
    Route(f"{RULE}/actions", get_push_rule_actions, methods=["GET"]),
    Route(f"{RULE}/actions", set_push_rule_actions, methods=["PUT"]),
    Route(RULE, get_push_rule, methods=["GET"]),
    Route(RULE, set_push_rule, methods=["PUT"]),
    Route(RULE, delete_push_rule, methods=["DELETE"]),
]
