"""Health, metrics, logs and shutdown: what operators rely on."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import running_server
from tests.integration.harness import RevierProcess


async def test_health_and_metrics(http: httpx.AsyncClient) -> None:
    r = await http.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    await http.get("/_matrix/client/versions")
    metrics = (await http.get("/_revier/metrics")).text
    assert (
        'revier_http_requests_total{endpoint="get_versions",method="GET",status="200"}' in metrics
    )
    # The paced garbage collector is at work, and its pauses are there to see.
    for _ in range(50):
        if 'revier_gc_pause_seconds_count{generation="0"}' in metrics:
            break
        await asyncio.sleep(0.1)
        metrics = (await http.get("/_revier/metrics")).text
    assert 'revier_gc_pause_seconds_count{generation="0"}' in metrics


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


async def test_metrics_on_their_own_listener_behind_a_token(
    tmp_root: Path, request: pytest.FixtureRequest
) -> None:
    with socket.socket() as probe:  # a free port for the metrics listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "scrape-token-for-tests"
    with running_server(
        "sqlite", request, tmp_root, "metrics", metrics={"port": port, "token": token}
    ) as srv:
        metrics_url = f"http://127.0.0.1:{port}/_revier/metrics"
        async with httpx.AsyncClient() as http:
            on_client_port = await http.get(f"{srv.url}/_revier/metrics")
            no_token = await http.get(metrics_url)
            wrong = await http.get(metrics_url, headers={"Authorization": "Bearer nope"})
            right = await http.get(metrics_url, headers={"Authorization": f"Bearer {token}"})
            client_api = await http.get(f"http://127.0.0.1:{port}/_matrix/client/versions")
    assert on_client_port.status_code == 404  # not on the port the world reaches
    assert no_token.status_code == wrong.status_code == 401
    assert right.status_code == 200 and "revier_http_requests_total" in right.text
    assert client_api.status_code == 404  # the metrics listener serves nothing else
