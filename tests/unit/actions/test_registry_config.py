"""The registry's configuration as regclean reads it, and how the cache will be cleared."""

from __future__ import annotations

from typing import Any

import pytest

from actions.registry_cache import CacheClearing, decide, is_mirror
from actions.registry_config import ConfigUnreadable, parse_config, pod_env

S3 = """
version: 0.1
storage:
  s3: {bucket: registry, secretkey: S3-SECRET}
  cache: {blobdescriptor: inmemory}
  redirect: {disable: true}
  delete: {enabled: true}
"""
REDIS = """
version: 0.1
storage:
  filesystem: {rootdirectory: /var/lib/registry}
  cache: {blobdescriptor: redis}
redis: {addr: "10.0.0.5:6379", db: 3, password: REDIS-SECRET}
"""


def test_an_s3_registry_with_an_inmemory_cache_is_recorded_without_its_keys() -> None:
    config, access = parse_config(S3, "pod kube-system/r:/etc/docker/registry/config.yml")
    assert (config.storage, config.cache, config.redirect_disabled) == ("s3", "inmemory", True)
    assert access is None
    assert "S3-SECRET" not in repr(config)


def test_a_redis_cache_gives_its_address_and_db_and_keeps_the_password_out_of_reprs() -> None:
    config, access = parse_config(REDIS, "ConfigMap kube-system/registry")
    assert (config.storage, config.cache, config.redis_addr, config.redis_db) == (
        "filesystem",
        "redis",
        "10.0.0.5:6379",
        3,
    )
    assert config.redirect_disabled is False
    assert access is not None and access.password == "REDIS-SECRET"
    assert "REDIS-SECRET" not in repr(access) and "REDIS-SECRET" not in repr(config)


def test_registry_variables_of_the_pod_override_the_file_as_in_distribution() -> None:
    pod: dict[str, Any] = {
        "spec": {
            "containers": [
                {
                    "name": "registry",
                    "env": [
                        {"name": "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "value": "redis"},
                        {"name": "REGISTRY_REDIS_ADDR", "value": "redis.kube-system:6379"},
                        {
                            "name": "REGISTRY_REDIS_PASSWORD",
                            "valueFrom": {"secretKeyRef": {"name": "x", "key": "y"}},
                        },
                        {"name": "OTHER", "value": "z"},
                    ],
                }
            ]
        }
    }
    config, access = parse_config(S3, "pod", pod_env(pod))
    assert (config.cache, config.redis_addr, config.redis_db) == ("redis", "redis.kube-system:6379", 0)
    assert access is not None and access.password is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("storage: [", "not valid YAML at line"),
        ("- a list", "not a YAML mapping"),
        ("version: 0.1", "no `storage:` section"),
        ("storage: {s3: {}, filesystem: {}}", "names 2 storage drivers (filesystem, s3)"),
        ("storage: {s3: {}, cache: {blobdescriptor: redis}}", "names no `redis.addr`"),
        (
            "storage: {s3: {}, cache: {blobdescriptor: redis}}\nredis: {addr: 'h:1', db: x}",
            "`redis.db: x`, not a number",
        ),
        (
            "storage: {s3: {}, redirect: {disable: maybe}}",
            "`storage.redirect.disable: maybe`, not true or false",
        ),
    ],
)
def test_a_configuration_regclean_cannot_understand_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ConfigUnreadable, match="registry's configuration") as caught:
        parse_config(text, "pod kube-system/r:/c.yml")
    assert words in str(caught.value) and "pod kube-system/r:/c.yml" in str(caught.value)


def test_an_unknown_cache_type_is_no_cache_as_the_registry_treats_it() -> None:
    config, _ = parse_config("storage: {s3: {}, cache: {blobdescriptor: memcached}}", "x")
    assert config.cache == "none"


def _pod(name: str, node: str, *, mirror: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": name + "-uid"}
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    return {"metadata": meta, "status": {"hostIP": node}}


DEPLOYED = [_pod(f"registry-{i}", f"10.0.0.{i}") for i in (1, 2, 3)]
STATIC = [_pod(f"registry-m{i}", f"10.0.0.{i}", mirror=True) for i in (1, 2, 3)]
INMEMORY = parse_config(S3, "x")[0]
IN_REDIS = parse_config(REDIS, "x")[0]


def test_deployed_pods_with_an_inmemory_cache_are_restarted_by_deleting_them() -> None:
    clearing = decide(INMEMORY, DEPLOYED, None)
    assert (clearing.method, clearing.static) == ("restart", False)
    assert clearing.describe() == (
        "registry cache: inmemory: the 3 registry pods are deleted and their replacements' containers must start anew"
    )


def test_static_pods_without_a_restart_command_cannot_be_cleared_and_say_what_to_set() -> None:
    clearing = decide(INMEMORY, STATIC, None)
    assert clearing.method == "cannot"
    assert clearing.reason is not None
    assert (
        "static pods on 10.0.0.1, 10.0.0.2, 10.0.0.3; set REGCLEAN_REGISTRY_RESTART_COMMAND"
        in clearing.reason
    )
    assert "crictl stop $(crictl ps -q --name registry)" in clearing.reason


def test_static_pods_with_a_restart_command_are_restarted_on_their_nodes() -> None:
    clearing = decide(INMEMORY, STATIC, "crictl stop $(crictl ps -q --name registry)")
    assert (clearing.method, clearing.nodes) == ("restart-on-node", ("10.0.0.1", "10.0.0.2", "10.0.0.3"))
    assert "`crictl stop $(crictl ps -q --name registry)` runs over SSH on each" in clearing.describe()


def test_a_node_owned_pod_is_a_mirror_pod_even_without_the_annotation() -> None:
    pod = {"metadata": {"name": "r", "ownerReferences": [{"kind": "Node", "name": "m1"}]}}
    assert is_mirror(pod) and not is_mirror(DEPLOYED[0])


def test_a_redis_cache_is_flushed_then_restarted_unless_redis_cannot_be_reached() -> None:
    clearing = decide(IN_REDIS, DEPLOYED, None)
    assert (clearing.method, clearing.redis) == ("flush-redis", "10.0.0.5:6379 db 3")
    assert clearing.describe().startswith("registry cache: redis 10.0.0.5:6379 db 3 is flushed (FLUSHDB")
    # what the approvers read for it (the e2e runbook has the redis cache on static pods instead)
    assert "that database only), then the 3 registry pods are deleted" in clearing.describe()
    down = decide(IN_REDIS, DEPLOYED, None, redis_problem="connection refused")
    assert down.method == "cannot" and down.reason is not None and "connection refused" in down.reason


def test_an_unreadable_configuration_or_no_pods_cannot_be_cleared() -> None:
    assert decide(None, DEPLOYED, None, unreadable="cat: no such file").reason == "cat: no such file"
    assert decide(INMEMORY, [], None).method == "cannot"


def test_a_clearing_survives_its_json_form() -> None:
    for clearing in (decide(IN_REDIS, STATIC, "cmd"), decide(None, DEPLOYED, None, unreadable="x")):
        assert CacheClearing.decode(clearing.encode()) == clearing
    with pytest.raises(ValueError, match="not a registry cache clearing"):
        CacheClearing.decode({"method": "restart"})
