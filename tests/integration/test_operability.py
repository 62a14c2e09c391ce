"""Health, metrics, logs and shutdown: what operators rely on."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.integration.harness import RevierProcess


async def test_health_and_metrics(http: httpx.AsyncClient) -> None:
    r = await http.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    await http.get("/_matrix/client/versions")
    metrics = (await http.get("/_revier/metrics")).text
    assert (
        'revier_http_requests_total{endpoint="get_versions",method="GET",status="200"}' in metrics
    )


async def test_logs_hold_no_passwords_or_tokens(server: RevierProcess, make_user) -> None:
    user = make_user("logs")
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/_matrix/client/v3/login",
            json={"type": "m.login.password", "user": user.user_id, "password": user.password},
        )
        token = r.json()["access_token"]
        await http.get(
            "/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"}
        )
    # The access log line is written once the response has gone out: wait for it.
    deadline = time.monotonic() + 10
    while "account/whoami" not in (log := server.log_path.read_text()):
        assert time.monotonic() < deadline, "no access log line for whoami"
        await asyncio.sleep(0.05)
    assert token not in log and user.password not in log
