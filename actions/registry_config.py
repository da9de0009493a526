"""The registry's own configuration, read before the purge: its storage, blob-descriptor cache and redirects.

distribution 2.8 caches blob descriptors `inmemory` (per process, never expiring) or in `redis`
(`storage.cache.blobdescriptor: redis` and a `redis:` section; the keys never expire and survive
restarts). How the cache is cleared after the purge depends on it (docs/architecture.md, "The
registry's blob cache"). The file is read with `cat` in a registry pod (`REGCLEAN_REGISTRY_CONFIG`)
or from a ConfigMap (`REGCLEAN_REGISTRY_CONFIGMAP`); `REGISTRY_…` variables set in the pod's
spec override it, as they override the file in distribution. The configuration holds secrets
(the storage keys, the redis password): only what `RegistryConfig` names is kept, and the redis
password only in a `RedisAccess`, which never shows in its repr and is never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import yaml

from actions.errors import ActionError, ApiNotFound
from actions.kube import KubeClient
from actions.kube_exec import exec_lines

CONFIG_KEY = "config.yml"
"""The ConfigMap key holding the configuration (the only key, when the ConfigMap has one)."""
NOT_DRIVERS = frozenset({"maintenance", "cache", "delete", "redirect", "tag"})
"""The `storage:` keys that are not a driver (distribution's `Storage.Type`)."""
MAX_LINES = 5000


class ConfigUnreadable(ActionError):
    """The registry's configuration could not be read or understood."""


@dataclass(frozen=True)
class RedisAccess:
    """How to reach the registry's redis database; the password is only ever held in memory."""

    addr: str
    db: int
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RegistryConfig:
    """What regclean needs to know of the registry's configuration (no secret among it)."""

    source: str
    """Where it was read: `pod NS/NAME:PATH` or `ConfigMap NS/NAME`."""
    storage: str
    """The storage driver: `s3`, `filesystem`, …"""
    cache: str
    """`storage.cache.blobdescriptor`: `inmemory`, `redis`, or `none` (no cache, or a type the registry does not know)."""
    redirect_disabled: bool
    """`storage.redirect.disable`: blob GETs are served by the registry, not redirected to the storage."""
    redis_addr: str | None = None
    redis_db: int | None = None


def parse_config(
    text: str, source: str, env: Mapping[str, str] | None = None
) -> tuple[RegistryConfig, RedisAccess | None]:
    """The configuration from its YAML text and the pod's `REGISTRY_…` variables; ConfigUnreadable says what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigUnreadable(f"The registry's configuration ({source}) is not valid YAML{where}.") from None
    if not isinstance(data, dict):
        raise ConfigUnreadable(f"The registry's configuration ({source}) is not a YAML mapping.")
    env = env or {}
    storage = data.get("storage")
    if not isinstance(storage, dict):
        raise ConfigUnreadable(f"The registry's configuration ({source}) has no `storage:` section.")
    drivers = sorted(str(k) for k in storage if str(k) not in NOT_DRIVERS)
    if env.get("REGISTRY_STORAGE"):
        drivers = [env["REGISTRY_STORAGE"]]
    if len(drivers) != 1:
        what = ", ".join(drivers) or "none"
        raise ConfigUnreadable(
            f"The registry's configuration ({source}) names {len(drivers)} storage drivers ({what}); "
            "the registry itself refuses to start unless it names exactly one."
        )
    cache = _section(storage, "cache").get("blobdescriptor") or _section(storage, "cache").get("layerinfo")
    cache = env.get("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", cache)
    kind = str(cache) if cache in ("inmemory", "redis") else "none"
    redirect = env.get(
        "REGISTRY_STORAGE_REDIRECT_DISABLE", _section(storage, "redirect").get("disable", False)
    )
    config = RegistryConfig(source, drivers[0], kind, _flag(redirect, "storage.redirect.disable", source))
    if kind != "redis":
        return config, None
    redis = _section(data, "redis")
    addr = str(env.get("REGISTRY_REDIS_ADDR", redis.get("addr") or "")).strip()
    if not addr:
        raise ConfigUnreadable(
            f"The registry's configuration ({source}) caches in redis but names no `redis.addr`."
        )
    db = _db(env.get("REGISTRY_REDIS_DB", redis.get("db", 0)), source)
    password = env.get("REGISTRY_REDIS_PASSWORD", redis.get("password"))
    access = RedisAccess(addr, db, str(password) if password else None)
    return RegistryConfig(source, drivers[0], kind, config.redirect_disabled, addr, db), access


async def read_config(
    kube: KubeClient,
    namespace: str,
    pod: Mapping[str, Any],
    path: str,
    configmap: str | None = None,
) -> tuple[RegistryConfig, RedisAccess | None]:
    """Read the configuration from the ConfigMap when one is named, else with `cat PATH` in `pod`."""
    env = pod_env(pod)
    if configmap:
        ns, _, name = configmap.rpartition("/")
        ns = ns or namespace
        source = f"ConfigMap {ns}/{name}"
        try:
            obj = await kube.get(f"/api/v1/namespaces/{quote(ns, safe='')}/configmaps/{quote(name, safe='')}")
        except ApiNotFound:
            raise ConfigUnreadable(
                f"The {source} does not exist. Check REGCLEAN_REGISTRY_CONFIGMAP, or unset it to read "
                "the configuration in a registry pod."
            ) from None
        data = obj.get("data") or {}
        text = data.get(CONFIG_KEY) or (next(iter(data.values())) if len(data) == 1 else None)
        if not isinstance(text, str):
            raise ConfigUnreadable(f"The {source} has no key {CONFIG_KEY}.")
        return parse_config(text, source, env)
    name = str((pod.get("metadata") or {}).get("name"))
    source = f"pod {namespace}/{name}:{path}"
    out: list[str] = []
    err: list[str] = []

    def keep(channel: int, line: str) -> None:
        if len(out) + len(err) < MAX_LINES:
            (out if channel == 1 else err).append(line)

    # Only stderr is ever quoted: stdout is the file, secrets and all.
    done = await exec_lines(kube, namespace, name, ["cat", path], keep, container=_container(pod), timeout=60)
    if done.exit_code != 0:
        said = " | ".join(line for line in err[-3:] if line.strip()) or done.message
        raise ConfigUnreadable(
            f"Cannot read the registry's configuration with `cat {path}` in pod {namespace}/{name}: {said}. "
            "Set REGCLEAN_REGISTRY_CONFIG to the file the registry runs with (its `serve` argument), or "
            "REGCLEAN_REGISTRY_CONFIGMAP to the ConfigMap it is mounted from."
        )
    return parse_config("\n".join(out), source, env)


def pod_env(pod: Mapping[str, Any]) -> dict[str, str]:
    """The literal `REGISTRY_…` variables of the registry container's spec (a `valueFrom` is left out)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    chosen = next((c for c in containers if c.get("name") == "registry"), containers[0] if containers else {})
    return {
        str(e["name"]): str(e["value"])
        for e in chosen.get("env") or []
        if str(e.get("name", "")).startswith("REGISTRY_") and "value" in e and e["value"] is not None
    }


def _container(pod: Mapping[str, Any]) -> str | None:
    names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    return "registry" if "registry" in names else (names[0] if len(names) == 1 else None)


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _flag(value: object, key: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ConfigUnreadable(
        f"The registry's configuration ({source}) has `{key}: {value}`, not true or false."
    )


def _db(value: object, source: str) -> int:
    try:
        db = int(str(value))
    except ValueError:
        raise ConfigUnreadable(
            f"The registry's configuration ({source}) has `redis.db: {value}`, not a number."
        ) from None
    if db < 0:
        raise ConfigUnreadable(f"The registry's configuration ({source}) has `redis.db: {db}`, below 0.")
    return db
