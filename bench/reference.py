"""The reference server, Synapse (pinned in bench/synapse_env.py), set up as revier is.

One process on SQLite, or its documented worker mode (docs/workers.md): the main
process with a replication listener in ``instance_map``, ``redis: enabled``,
PostgreSQL, and N ``synapse.app.generic_worker`` processes each with a ``client``
listener; requests routed as bench/routing.py says.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

from bench.client import PASSWORD, Matrix, Session, gather_limited
from bench.routing import SYNAPSE_WORKER_PATHS, Router
from bench.servers import Server, free_port, wait_http
from bench.synapse_env import synapse_python


class Synapse(Server):
    def start(self) -> None:
        python = synapse_python()
        self.version = subprocess.run(
            [str(python), "-c", "import synapse; print(synapse.__version__.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        port = free_port()
        self.secret = secrets.token_hex(16)
        cfg = self.workdir / "homeserver.yaml"
        logcfg = self._log_config("log.yaml", "server.log")
        unlimited = {"per_second": 1_000_000, "burst_count": 1_000_000}
        config = {
            "server_name": "localhost",
            "pid_file": str(self.workdir / "homeserver.pid"),
            "listeners": [
                {
                    "port": port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": self._database(),
            "log_config": str(logcfg),
            "media_store_path": str(self.workdir / "media"),
            "signing_key_path": str(self.workdir / "signing.key"),
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "report_stats": False,
            "enable_metrics": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            # Setup speed only (registration hashes); login is not measured.
            "bcrypt_rounds": 4,
            "rc_message": unlimited,
            "rc_registration": unlimited,
            "rc_registration_token_validity": unlimited,
            "rc_login": {k: unlimited for k in ("address", "account", "failed_attempts")},
            "rc_joins": {"local": unlimited, "remote": unlimited},
            "rc_joins_per_room": unlimited,
            "rc_invites": {k: unlimited for k in ("per_room", "per_user", "per_issuer")},
            "rc_room_creation": unlimited,
            "rc_3pid_validation": unlimited,
            "rc_admin_redaction": unlimited,
            "rc_key_requests": unlimited,
            "rc_presence": {"per_user": unlimited},
        }
        if self.workers:
            self._replication(config)
        # JSON is YAML: no PyYAML needed here.
        cfg.write_text(json.dumps(config, indent=1))
        subprocess.run(
            [str(python), "-m", "synapse.app.homeserver", "-c", str(cfg), "--generate-keys"],
            check=True,
            capture_output=True,
            cwd=self.workdir,
        )
        log = (self.workdir / "stdout.log").open("ab")
        self.proc = subprocess.Popen(
            [str(python), "-m", "synapse.app.homeserver", "-c", str(cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/_matrix/client/versions", self.proc, 120)
        if self.workers:
            urls = [self._start_worker(python, cfg, k) for k in range(self.workers)]
            self.router = Router(main=self.url, workers=urls, worker_paths=SYNAPSE_WORKER_PATHS)

    def _log_config(self, name: str, log_file: str) -> Path:
        path = self.workdir / name
        path.write_text(
            "version: 1\n"
            "formatters: {plain: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}\n"
            "handlers: {file: {class: logging.FileHandler, formatter: plain, "
            f"filename: {self.workdir / log_file}}}}}\n"
            "root: {level: WARNING, handlers: [file]}\n"
            "disable_existing_loggers: false\n"
        )
        return path

    def _database(self) -> dict[str, Any]:
        if not self.workers:
            return {"name": "sqlite3", "args": {"database": str(self.workdir / "hs.db")}}
        # Synapse refuses a database whose collation is not C.
        self.start_infra("synapse", c_collation=True)
        assert self.postgres is not None
        args = {"user": "revier", "host": "127.0.0.1", "port": self.postgres.port}
        return {"name": "psycopg2", "args": {**args, "database": "synapse"}}

    def _replication(self, config: dict[str, Any]) -> None:
        """The shared configuration's part for workers: the main process's replication
        listener in ``instance_map``, Redis replication."""
        port = free_port()
        config["listeners"].append(
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "resources": [{"names": ["replication"]}],
            }
        )
        config["instance_map"] = {"main": {"host": "127.0.0.1", "port": port}}
        assert self.redis is not None
        config["redis"] = {"enabled": True, "host": "127.0.0.1", "port": self.redis.port}
        config["worker_replication_secret"] = secrets.token_hex(16)

    def _start_worker(self, python: Path, shared: Path, k: int) -> str:
        """Generic worker ``k`` with a ``client`` listener of its own; its URL."""
        port = free_port()
        name = f"worker{k + 1}"
        own = self.workdir / f"{name}.yaml"
        own.write_text(
            json.dumps(
                {
                    "worker_app": "synapse.app.generic_worker",
                    "worker_name": name,
                    "worker_listeners": [
                        {
                            "type": "http",
                            "port": port,
                            "bind_addresses": ["127.0.0.1"],
                            "x_forwarded": False,
                            "resources": [{"names": ["client"], "compress": False}],
                        }
                    ],
                    "worker_log_config": str(self._log_config(f"{name}-log.yaml", f"{name}.log")),
                },
                indent=1,
            )
        )
        proc = subprocess.Popen(
            [str(python), "-m", "synapse.app.generic_worker", "-c", str(shared), "-c", str(own)],
            stdout=(self.workdir / f"{name}-stdout.log").open("ab"),
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        self.others.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/_matrix/client/versions", proc, 120)
        return url

    async def create_users(self, localparts: list[str]) -> None:
        async with aiohttp.ClientSession() as http:
            m = self.matrix(http)
            sessions = await gather_limited(8, [self._register(m, lp) for lp in localparts])
        self.sessions.update(zip(localparts, sessions, strict=True))
        if self.router:
            for s in sessions:
                self.router.remember(s.user_id, s.access_token)

    async def _register(self, m: Matrix, localpart: str) -> Session:
        """Synapse's shared-secret registration: it answers with an access token."""
        path = "/_synapse/admin/v1/register"
        nonce = (await m.call("GET", path))["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\0{localpart}\0{PASSWORD}\0notadmin".encode())
        data = await m.call(
            "POST",
            path,
            body={
                "nonce": nonce,
                "username": localpart,
                "password": PASSWORD,
                "admin": False,
                "mac": mac.hexdigest(),
            },
        )
        return Session(data["user_id"], data["access_token"], data.get("device_id", ""))
