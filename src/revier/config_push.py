"""Push gateway addresses in the configuration: one form for the tenant's list
and for the URL a pusher names."""

from __future__ import annotations

from urllib.parse import urlsplit


def gateway_origin(url: str) -> str:
    """A push gateway URL as ``scheme://host:port`` (what a pusher's URL must match)."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ValueError(f"push gateway {url!r} must be https://host[:port]")
    if parsed.username or parsed.password or parsed.query or parsed.fragment:
        raise ValueError(f"push gateway {url!r}: only scheme, host and port")
    if parsed.path not in ("", "/", "/_matrix/push/v1/notify"):
        raise ValueError(f"push gateway {url!r}: no path but /_matrix/push/v1/notify")
    if parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"push gateway {url!r}: plain http only on this machine; use https")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"push gateway {url!r} has no valid port") from None
    host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
    return f"{parsed.scheme}://{host.lower()}:{port}"
