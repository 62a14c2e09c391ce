"""Which SQL statements one request runs: a trace on the database engines.

``python -m bench.statements [--db sqlite|postgresql] [--members 20]`` starts
revier in this process (the ASGI app with its lifespan, no socket), fills a
room with members, and prints every statement one
``PUT /rooms/{id}/send/m.room.message/{txn}`` runs, with the transaction
boundaries (each a round trip too). ``StatementTrace`` is the reusable part:
an SQLAlchemy ``before_cursor_execute`` listener on both engines.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

PASSWORD = "statement-trace-password"
_WS = re.compile(r"\s+")


@dataclass
class StatementTrace:
    """Every statement (and BEGIN/COMMIT/ROLLBACK) run on the engines while on."""

    engines: list[Engine]
    lines: list[str] = field(default_factory=list)
    on: bool = False

    def _statement(self, conn: Any, cursor: Any, sql: str, params: Any, *rest: Any) -> None:
        if self.on:
            rows = f"  [{len(params)} rows]" if isinstance(params, list) and params else ""
            self.lines.append(_WS.sub(" ", sql).strip() + rows)

    def _mark(self, what: str) -> Any:
        def listener(conn: Any, *rest: Any) -> None:
            if self.on:
                self.lines.append(what)

        return listener

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        hooks = [
            ("before_cursor_execute", self._statement),
            # The driver's own BEGIN (asyncpg's, not a cursor statement; on
            # SQLite revier's listener then sends BEGIN IMMEDIATE, seen below).
            ("begin", self._mark("(begin)")),
            ("commit", self._mark("COMMIT")),
            ("rollback", self._mark("ROLLBACK")),
        ]
        for engine in self.engines:
            for name, fn in hooks:
                event.listen(engine, name, fn)
        self.lines.clear()
        self.on = True
        try:
            yield self.lines
        finally:
            self.on = False
            for engine in self.engines:
                for name, fn in hooks:
                    event.remove(engine, name, fn)


async def trace_send(database_url: str, data_dir: Path, members: int, timed: int = 0) -> list[str]:
    from revier.app import create_app
    from revier.config_file import load_settings

    config = data_dir / "revier.toml"
    config.write_text(
        "\n".join(
            [
                "[server]",
                f'data_dir = "{data_dir}"',
                "[database]",
                f'url = "{database_url}"',
                "[ratelimit]",
                "enabled = false",
                "[[tenants]]",
                'server_name = "localhost"',
                "[tenants.policy]",
                'plaintext_in_encrypted_rooms = "allow"',
            ]
        )
        + "\n"
    )
    app = create_app(load_settings(config, {}))
    async with app.router.lifespan_context(app):
        svc = app.state.services
        tenant = svc.tenants[0] if isinstance(svc.tenants, list) else next(iter(svc.tenants))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            tokens = []
            for i in range(members):
                name = f"member{i}"
                await svc.accounts.create_user(tenant, name, PASSWORD)
                r = await http.post(
                    "/_matrix/client/v3/login",
                    json={
                        "type": "m.login.password",
                        "identifier": {"type": "m.id.user", "user": name},
                        "password": PASSWORD,
                    },
                )
                tokens.append({"Authorization": f"Bearer {r.json()['access_token']}"})
            r = await http.post(
                "/_matrix/client/v3/createRoom", json={"preset": "public_chat"}, headers=tokens[0]
            )
            room = r.json()["room_id"]
            for headers in tokens[1:]:
                r = await http.post(f"/_matrix/client/v3/join/{room}", headers=headers, json={})
                assert r.status_code == 200, r.text
            url = f"/_matrix/client/v3/rooms/{room}/send/m.room.message"
            body = {"msgtype": "m.text", "body": "warm-up"}
            for txn in ("w1", "w2"):  # caches warm, as under load
                assert (await http.put(f"{url}/{txn}", json=body, headers=tokens[1])).is_success
            engines = svc.store._engines  # a measuring tool looks inside
            trace = StatementTrace(list({e.sync_engine for e in (engines.writer, engines.reader)}))
            with trace.recording() as lines:
                body = {"msgtype": "m.text", "body": "traced"}
                r = await http.put(f"{url}/t1", json=body, headers=tokens[1])
                assert r.is_success, r.text
                await asyncio.sleep(0.05)  # the group commit's COMMIT
            found = list(lines)
            if timed:  # one after another: this process's CPU (client and server) per send
                cpu, wall = time.process_time(), time.perf_counter()
                for n in range(timed):
                    await http.put(f"{url}/timed{n}", json=body, headers=tokens[1])
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                found.append(
                    f"(timed) {timed} sends: {1000 * cpu / timed:.2f} ms CPU, "
                    f"{1000 * wall / timed:.2f} ms wall each"
                )
            return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--timed", type=int, default=0, help="then time this many sends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="revier-trace-") as tmp:
        data_dir = Path(tmp)
        if args.db == "sqlite":
            url = f"sqlite:///{data_dir}/revier.db"
            lines = asyncio.run(trace_send(url, data_dir, args.members, args.timed))
        else:
            from tests.integration.postgres import create_database, postgres_cluster

            with postgres_cluster() as dsn:
                url = create_database(dsn, "trace")
                lines = asyncio.run(trace_send(url, data_dir, args.members, args.timed))
    for n, line in enumerate(lines, 1):
        print(f"{n:3} {line[:220]}")
    control = ("(", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    statements = [s for s in lines if not s.startswith(control)]
    print(f"{len(statements)} statements, {len(lines)} with transaction control")


if __name__ == "__main__":
    main()
