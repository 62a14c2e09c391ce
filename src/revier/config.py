"""The one typed settings object: a TOML file, then environment overrides.

Every setting has a default that suits the embedded set-up (SQLite in a local
data directory, tenant ``localhost`` on 127.0.0.1:8008), so ``revier serve``
works without a file. An installation writes the file from
``config.example.toml``; a container or a test harness overrides single keys
with ``REVIER_<SECTION>__<KEY>`` variables (``REVIER_SERVER__PORT=8448``,
``REVIER_TENANTS__0__SERVER_NAME=police.example``); ``config_file`` reads both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from revier.config_directory import DirectorySettings
from revier.config_org import check_min_versions, check_retention_days
from revier.config_push import gateway_origin
from revier.config_signin import SignInPolicy
from revier.config_support import SupportSettings
from revier.config_turn import TurnSettings

ENV_PREFIX = "REVIER_"
CONFIG_PATH_ENV = "REVIER_CONFIG"
ADMIN_PASSWORD_ENV = "REVIER_ADMIN_PASSWORD"

_SERVER_NAME = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class ConfigError(Exception):
    """The configuration can't be used; the message says which key and why."""


class StartupRefused(Exception):
    """revier must not run on this data with this configuration (a renamed tenant, a
    database from a newer release, no database where one is expected, …): one line
    that says why and what to do, shown instead of a traceback; exit status 2."""


class _Section(BaseModel):
    # A typo in a key must stop the server, not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    bind_address: str = "127.0.0.1"
    port: int = Field(8008, ge=0, le=65535)
    # Where clients reach the server; advertised in .well-known. Defaults to
    # http://<first tenant>:<port>.
    public_baseurl: str | None = None
    data_dir: Path = Path("data")
    # JSON request bodies above this are refused with M_TOO_LARGE before
    # they are read whole. Media uploads have their own limit.
    max_request_body_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    # Seconds to let running requests finish on SIGTERM before closing them.
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    # Proxies whose X-Forwarded-For is believed (exact addresses).
    trusted_proxies: list[str] = []


class DatabaseSettings(_Section):
    # None: SQLite at <data_dir>/revier.db. PostgreSQL:
    # "postgresql://user:password@host:5432/revier".
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _known_engine(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("sqlite:", "postgresql:", "postgres:")):
            raise ValueError("database.url must start with sqlite: or postgresql:")
        return url


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "console" for people, "json" for a log collector.
    format: Literal["console", "json"] = "console"
    # One line per request (method, path without query, status, duration).
    access_log: bool = True
    # Also write the log to this file (appended); None: standard error only.
    file: Path | None = None


class MetricsSettings(_Section):
    """Prometheus metrics (request counts and latencies per endpoint). By default
    they are served on the client port to anyone who asks: they hold no content,
    but they show how busy the server is and when. Give them a listener of their
    own (``port``) that only the monitoring host reaches, or a ``token``, or both."""

    enabled: bool = True
    path: str = "/_revier/metrics"
    # A listener of their own (e.g. 9108 on 127.0.0.1): then the client port
    # doesn't serve them. None: the client port.
    port: int | None = Field(None, ge=0, le=65535)
    # The listener's address; None: server.bind_address.
    bind_address: str | None = None
    # Scrapers must send "Authorization: Bearer <token>" (Prometheus: bearer_token).
    token: SecretStr | None = None


class NotifySettings(_Section):
    # Several worker processes behind one load balancer share one PostgreSQL
    # database and wake each other's /sync requests through Redis pub/sub.
    # None: a single process, wake-ups stay in memory.
    redis_url: str | None = None


class PushSettings(_Section):
    """How the server talks to push gateways (which ones: the tenant's push_gateways)."""

    # Unanswered after this many seconds: failed, retried after 1 s, 2 s, 4 s … ≤ 1 h.
    request_timeout_seconds: float = Field(30.0, gt=0, le=300)
    # Connections kept open to one gateway; more pushes at once wait their turn.
    max_connections_per_gateway: int = Field(16, ge=1, le=256)


class RateLimit(_Section):
    """A token bucket: ``burst`` requests at once, refilled at ``per_second``."""

    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class RateLimitSettings(_Section):
    enabled: bool = True
    login_per_address: RateLimit = RateLimit(per_second=0.2, burst=10)
    login_per_user: RateLimit = RateLimit(per_second=0.05, burst=5)
    # POST /register, GET /register/available and the registration token
    # validity check, per address: tokens and user names can't be guessed in bulk.
    registration_per_address: RateLimit = RateLimit(per_second=0.1, burst=10)
    # Uploads and POST /media/v1/create per user.
    media_upload: RateLimit = RateLimit(per_second=1.0, burst=30)
    # POST /search per user: full-text search is the costliest read a client asks for.
    search: RateLimit = RateLimit(per_second=1.0, burst=20)
    # Content reports (event, room, user) per user: a flood of reports must not
    # fill the table the admins read. About one a minute after a burst of 10.
    reports_per_user: RateLimit = RateLimit(per_second=1 / 60, burst=10)


class MediaSettings(_Section):
    """Where uploaded files live: under <data_dir>/media, or in an S3-compatible bucket."""

    backend: Literal["file", "s3"] = "file"
    # None: <data_dir>/media. Only for backend = "file".
    path: Path | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str = "revier-media"
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    # Path-style URLs (http://host/bucket/key) for MinIO, SeaweedFS and most on-site stores.
    s3_path_style: bool = True
    # Created media IDs must receive their upload within this many seconds.
    unused_expires_seconds: int = Field(24 * 3600, ge=1)
    # Images with more pixels than this are not thumbnailed (decompression bombs).
    max_thumbnail_pixels: int = Field(40_000_000, ge=1)


class TenantPolicy(_Section, SignInPolicy):
    """What an organisation decides for its own users."""

    password_min_length: int = Field(12, ge=8, le=1024)
    max_devices_per_user: int = Field(3, ge=1, le=100)
    # "default": the server adds end-to-end encryption to every new room;
    # "required": a createRoom that doesn't ask for encryption is refused;
    # "optional": rooms are encrypted only when the client asks.
    room_encryption: Literal["default", "required", "optional"] = "default"
    # Once a room is encrypted, "refuse" turns away every message a client sends
    # in the clear (revier/policy/encryption.py says which events are exempt);
    # "allow" stores them, as other servers do.
    plaintext_in_encrypted_rooms: Literal["refuse", "allow"] = "refuse"
    presence_enabled: bool = True
    # Who may publish rooms in the public room directory: with True only the
    # tenant's admins (createRoom visibility=public, PUT /directory/list/room).
    public_rooms_require_admin: bool = False
    # Who may read profiles (GET /profile/{userId}) and the room directory
    # (GET/POST /publicRooms) without an access token. The spec lets anyone; an
    # organisation's staff list and its rooms' names are internal, and an open
    # port would let outsiders list who works here and what they work on, so
    # both need a login unless the organisation decides they are public.
    public_profiles: bool = False
    public_room_directory: bool = False
    # Whom /user_directory/search finds: "organisation" = every active user of
    # the tenant; "shared_rooms" = only users sharing a joined room with the searcher.
    user_directory: Literal["organisation", "shared_rooms"] = "organisation"
    # Who may create an account through POST /register: "closed" = nobody (the
    # help desk creates accounts); "token" = whoever has a registration token.
    registration: Literal["closed", "token"] = "closed"
    # User names POST /register never hands out (the help desk still can).
    reserved_usernames: list[str] = ["admin", "root", "support", "helpdesk"]
    # True: POST /register?kind=guest creates guest accounts (spec module
    # "Guest access"): read-only-ish, they join only rooms that allow guests.
    guest_access: bool = False
    # One upload may be at most this big (advertised as m.upload.size).
    max_upload_bytes: int = Field(100 * 1024 * 1024, ge=1024)
    # All of one user's uploads together (thumbnails not counted).
    media_quota_bytes_per_user: int = Field(5 * 1024 * 1024 * 1024, ge=1024)
    # Link previews make the server fetch URLs seen in messages: off unless wanted.
    url_previews: bool = False
    # The audit log keeps who did what for good; the source IP address of each
    # entry is personal data and is replaced by a keyed pseudonym after this many days.
    audit_pseudonymise_after_days: int = Field(30, ge=1, le=3650)
    # What a push carries out of the house (via the gateway to Google and Apple).
    # "none": event ID, room ID, unread count; the phone fetches the event itself.
    # "metadata": also sender, display name, room name, event type. "full": also
    # the content of unencrypted events. Encrypted content never leaves.
    push_content: Literal["none", "metadata", "full"] = "none"
    # The push gateways pushers may name ("https://host[:port]"); no other address
    # is contacted. Plain http only on this machine. Empty: no pushers at all.
    push_gateways: list[str] = []
    # The time zone of duty hours (an IANA name such as "Europe/Berlin").
    time_zone: str = "UTC"
    # What users may change of their duty hours (account data org.revier.duty_hours):
    # "none"; "switches" (off/on duty now); "schedule" (also their weekly hours).
    duty_user_adjust: Literal["none", "switches", "schedule"] = "none"
    # Rooms (IDs or aliases) and senders (user IDs) whose notifications reach users
    # off duty (an alarm channel); each such push is audited.
    duty_urgent_rooms: list[str] = []
    duty_urgent_senders: list[str] = []
    # Seconds an access token lives when the client asked for a refresh token
    # (spec "Refreshing access tokens"); None: tokens never expire and no
    # refresh tokens are handed out.
    access_token_lifetime: int | None = Field(None, ge=60, le=30 * 86400)
    # POST /login/get_token: a logged-in device lets a new one log in with a
    # short-lived single-use token (a QR code). The device limit still holds.
    login_token: bool = True
    # Whether users may close their own account (POST /account/deactivate). Off by
    # default: in an organisation accounts belong to the organisation, which
    # creates them, must keep them while records need them, and closes them when
    # someone leaves; a user who wants out asks the help desk (who deactivate it
    # through the admin API), and a stolen session can't destroy the account.
    allow_self_deactivation: bool = False
    # Retention (m.room.retention, MSC1763): bounds on a room's max_lifetime, and
    # the lifetime of rooms without one; None: no bound / keep for good.
    retention_min_days: int | None = Field(None, ge=1, le=36500)
    retention_max_days: int | None = Field(None, ge=1, le=36500)
    retention_default_days: int | None = Field(None, ge=1, le=36500)
    # A closed room's events are deleted this many days after its closing.
    closed_room_purge_days: int | None = Field(None, ge=0, le=36500)
    # Client name as in the User-Agent ("Element X") -> the lowest version let in.
    min_client_versions: dict[str, str] = {}

    @model_validator(mode="after")
    def _retention_bounds(self) -> TenantPolicy:
        check_retention_days(
            self.retention_min_days, self.retention_max_days, self.retention_default_days
        )
        return self

    @field_validator("min_client_versions")
    @classmethod
    def _client_versions(cls, versions: dict[str, str]) -> dict[str, str]:
        return check_min_versions(versions)

    @field_validator("push_gateways")
    @classmethod
    def _gateway_origins(cls, gateways: list[str]) -> list[str]:
        return [gateway_origin(g) for g in gateways]

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone") from None
        return name


class TenantSettings(_Section):
    server_name: str
    # Ed25519 key that signs this tenant's events; created on first start
    # under <data_dir>/keys/ when not given.
    signing_key_path: Path | None = None
    # Further Host header values that reach this tenant (e.g. "matrix.police.example").
    hostnames: list[str] = []
    # The account created on first start when the tenant has no users yet.
    initial_admin: str = "admin"
    policy: TenantPolicy = TenantPolicy()
    # Whom to contact about the server (/.well-known/matrix/support); None: 404.
    support: SupportSettings | None = None
    # TURN servers for voice and video calls (/voip/turnServer); None: none.
    turn: TurnSettings | None = None
    # Where accounts and units come from (LDAP, SCIM); None: made by hand.
    directory: DirectorySettings | None = None

    @field_validator("server_name")
    @classmethod
    def _valid_server_name(cls, name: str) -> str:
        if not _SERVER_NAME.match(name) or len(name) > 255:
            raise ValueError(f"{name!r} is not a valid Matrix server name")
        return name

    @field_validator("hostnames")
    @classmethod
    def _valid_hostnames(cls, hostnames: list[str]) -> list[str]:
        for host in hostnames:
            if not _SERVER_NAME.match(host) or len(host) > 255:
                raise ValueError(f"{host!r} is not a valid host name")
        return hostnames


class TestingSettings(_Section):
    """Settings for conformance suites (SyTest, Complement-like); never production.

    They take effect only when ``revier serve --conformance-mode`` is given as
    well: a section copied into a production file by mistake refuses to start
    instead of opening registration.
    """

    # Open registration with m.login.dummy, guest registration, no rate limits.
    conformance: bool = False
    # The version of rooms created without an explicit room_version.
    default_room_version: str = "10"
    # A file with milliseconds the server adds to the wall clock, re-read when it
    # changes: tests move the server's time (to a shift's start) instead of waiting.
    clock_file: Path | None = None

    @field_validator("default_room_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        # REVIER_TESTING__DEFAULT_ROOM_VERSION=10 arrives as the number 10.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class SyncSettings(_Section):
    """Syncing clients: what the server keeps for them between requests."""

    # A sliding-sync connection (Element X) no request has used for this long is
    # forgotten: its client starts over with a fresh list (M_UNKNOWN_POS).
    sliding_connection_expiry_seconds: int = Field(7 * 24 * 3600, ge=1)


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    ratelimit: RateLimitSettings = RateLimitSettings()
    notify: NotifySettings = NotifySettings()
    sync: SyncSettings = SyncSettings()
    testing: TestingSettings | None = None
    media: MediaSettings = MediaSettings()
    push: PushSettings = PushSettings()
    tenants: list[TenantSettings] = [TenantSettings(server_name="localhost")]
    # Only from the environment (REVIER_ADMIN_PASSWORD): the first admin's password.
    initial_admin_password: SecretStr | None = None

    @field_validator("tenants")
    @classmethod
    def _distinct_tenants(cls, tenants: list[TenantSettings]) -> list[TenantSettings]:
        if not tenants:
            raise ValueError("at least one tenant is needed")
        names = [t.server_name for t in tenants]
        if len(set(names)) != len(names):
            raise ValueError("tenant server_names must be distinct")
        # The Host header picks the tenant (case-insensitively): a host of two
        # tenants would silently send one organisation's users to the other.
        owner: dict[str, str] = {}
        for tenant in tenants:
            for host in {h.lower() for h in [tenant.server_name, *tenant.hostnames]}:
                if host in owner:
                    raise ValueError(
                        f"host {host!r} would reach two tenants, "
                        f"{owner[host]} and {tenant.server_name}"
                    )
                owner[host] = tenant.server_name
        return tenants

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.server.data_dir / 'revier.db'}"

    @property
    def public_baseurl(self) -> str:
        if self.server.public_baseurl:
            return self.server.public_baseurl.rstrip("/")
        return f"http://{self.tenants[0].server_name}:{self.server.port}"
