"""Reading the configuration: the TOML file (``--config``, else ``$REVIER_CONFIG``,
else none: the built-in defaults), then ``REVIER_<SECTION>__<KEY>`` overrides,
then validation into ``Settings``. The only module that reads the environment.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from revier.config import (
    ADMIN_PASSWORD_ENV,
    CONFIG_PATH_ENV,
    ENV_PREFIX,
    ConfigError,
    Settings,
)


def config_path(path: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The configuration file in use: ``path`` if given, else ``$REVIER_CONFIG``, else
    none (the built-in defaults)."""
    env = os.environ if environ is None else environ
    if path is None and env.get(CONFIG_PATH_ENV):
        return Path(env[CONFIG_PATH_ENV])
    return path


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any), apply ``REVIER_*`` overrides, validate."""
    env = os.environ if environ is None else environ
    path = config_path(path, env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise ConfigError(f"config file {path} does not exist") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path} is not valid TOML: {e}") from e
    _apply_env_overrides(raw, env)
    if env.get(ADMIN_PASSWORD_ENV):
        raw["initial_admin_password"] = env[ADMIN_PASSWORD_ENV]
    try:
        return Settings.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(_describe(err, raw) for err in e.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None


def _describe(err: Any, raw: dict[str, Any]) -> str:
    """One problem as ``where: what``; a tenant's setting names the tenant (its
    index in a list of several says little), with the value found for policies."""
    loc = list(err["loc"])
    what = err["msg"]
    if err["type"] == "extra_forbidden":
        what = "unknown setting (a typo?)"
    elif err["type"] == "value_error":
        what = str(err["ctx"]["error"])
    if len(loc) > 2 and loc[0] == "tenants" and isinstance(loc[1], int):
        tenants = raw.get("tenants")
        tenant = tenants[loc[1]] if isinstance(tenants, list) else None
        name = tenant.get("server_name") if isinstance(tenant, dict) else None
        key = ".".join(str(p) for p in loc[2:])
        if loc[2] == "policy" and err["type"] != "extra_forbidden":
            what += f" (found {err['input']!r})"
        return f"tenant {name or '#' + str(loc[1] + 1)!r}: {key}: {what}"
    return f"{'.'.join(str(p) for p in loc)}: {what}"


def _apply_env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        keys = name[len(ENV_PREFIX) :].lower().split("__")
        node: Any = raw
        for key, next_key in itertools.pairwise(keys):
            node = _child(node, key, list_next=next_key.isdigit())
        _set(node, keys[-1], _parse_scalar(value))


def _child(node: Any, key: str, *, list_next: bool) -> Any:
    empty: Any = [] if list_next else {}
    if isinstance(node, list):
        index = int(key)
        while len(node) <= index:
            node.append({} if not list_next else [])
        return node[index]
    return node.setdefault(key, empty)


def _set(node: Any, key: str, value: Any) -> None:
    if isinstance(node, list):
        index = int(key)
        while len(node) <= index:
            node.append(None)
        node[index] = value
    else:
        node[key] = value


def _parse_scalar(value: str) -> Any:
    """Read ``8448``, ``true`` or ``["a", "b"]`` as TOML would; anything else as text."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value
