"""schemathesis against the spec: no 5xx, and every answer as the spec describes it.

Runs over the endpoints revier implements; grow ``IMPLEMENTED`` with each new one.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from tests.integration.harness import RevierProcess
from tests.integration.spec import client_server_bundle
from tests.matrix_spec import spec_missing_reason

if (_no_spec := spec_missing_reason()) is not None:
    pytest.skip(_no_spec, allow_module_level=True)

# Protocol behaviour, not storage: once, on SQLite, even with --db=both.
pytestmark = pytest.mark.one_engine

IMPLEMENTED = (
    r"^/_matrix/client/(versions|v1/register/m\.login\.registration_token/validity|"
    r"v1/rooms/\{roomId\}/(threads|hierarchy|timestamp_to_event|"
    r"relations/\{eventId\}(/\{relType\}(/\{eventType\})?)?)|"
    r"v1/room_summary/\{roomIdOrAlias\}|v1/mutual_rooms|"
    r"v1/login/get_token|v1/auth_metadata|v3/refresh|v3/voip/turnServer|v3/user/\{userId\}/openid/request_token|"
    r"v1/admin/(lock|suspend)/\{userId\}|"
    r"v1/media/(config|preview_url|"
    r"download/\{serverName\}/\{mediaId\}|thumbnail/\{serverName\}/\{mediaId\})|"
    r"v3/(login|logout|logout/all|account/whoami|capabilities|"
    r"devices|devices/\{deviceId\}|delete_devices|register|register/available|"
    r"account/password|account/deactivate|admin/whois/\{userId\}|"
    r"rooms/\{roomId\}/report(/\{eventId\})?|users/\{userId\}/report|"
    r"pushrules/|pushrules/global/|pushers|pushers/set|notifications|search|"
    r"pushrules/global/\{kind\}/\{ruleId\}(/enabled|/actions)?|presence/\{userId\}/status|"
    r"rooms/\{roomId\}/(messages|context/\{eventId\}|members|joined_members|aliases|upgrade)|"
    r"thirdparty/(protocols|protocol/\{protocol\}|location(/\{protocol\})?|user(/\{protocol\})?)|"
    r"directory/room/\{roomAlias\}|directory/list/room/\{roomId\}|publicRooms|"
    r"profile/\{userId\}(/\{keyName\})?|user_directory/search|"
    r"keys/(upload|query|claim|changes|device_signing/upload|signatures/upload)|"
    r"sendToDevice/\{eventType\}/\{txnId\}|user/\{userId\}/rooms/\{roomId\}/tags(/\{tag\})?|"
    r"room_keys/version(/\{version\})?|room_keys/keys(/\{roomId\}(/\{sessionId\})?)?))$"
    r"|^/\.well-known/matrix/(client|support)$"
)
# The spec gives some endpoints a 401 schema for user-interactive auth only;
# a missing or wrong token is still 401 with the standard error body.
TOKEN_ERRORS = {"M_MISSING_TOKEN", "M_UNKNOWN_TOKEN"}
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="session")
def fuzz_token(server: RevierProcess) -> str:
    """A user that exists only for fuzzing, logged in on several devices."""
    server.create_user("fuzzer", "fuzzing password 123")
    response = httpx.post(
        f"{server.url}/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "fuzzer", "password": "fuzzing password 123"},
    )
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
def matrix_schema(server: RevierProcess) -> Any:
    schema = schemathesis.openapi.from_path(client_server_bundle())
    schema.config.update(base_url=server.url)
    schema.config.generation.update(max_examples=10)
    return schema


schema = schemathesis.pytest.from_fixture("matrix_schema")


@schema.include(path_regex=IMPLEMENTED).exclude(path_regex="logout").parametrize()
def test_implemented_endpoints_conform(case: Any, fuzz_token: str) -> None:
    headers = {"Authorization": f"Bearer {fuzz_token}"} if case.headers is None else None
    response = case.call(headers=headers)
    if response.status_code == 401 and _errcode(response) in TOKEN_ERRORS:
        case.validate_response(response, checks=[not_a_server_error])
    else:
        case.validate_response(response, checks=CHECKS)


def _errcode(response: Any) -> str | None:
    try:
        return response.json().get("errcode")
    except ValueError:
        return None
