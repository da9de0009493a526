"""What the settings name, in the shape the actions take: the registry, MinIO, the plugin directory."""

from __future__ import annotations

from actions.minio import MinioTarget
from actions.registry import RegistryTarget
from actions.registry_clear import RegistryPods
from bot.config.settings import Settings


def registry_target(settings: Settings) -> RegistryTarget:
    """The platform registry as configured (REGCLEAN_REGISTRY…: PLAIN_HTTP, or HTTPS verified with CA_FILE)."""
    settings.require("registry")
    assert settings.registry is not None
    password = settings.registry_password.get_secret_value() if settings.registry_password else None
    return RegistryTarget(
        settings.registry,
        settings.registry_username,
        password,
        plain_http=settings.registry_plain_http,
        ca_file=settings.registry_ca_file,
    )


def plugin_dir(settings: Settings) -> str:
    """REGCLEAN_PLUGIN_DIR, or `<installer_dir>/plugins`."""
    return settings.plugin_dir or settings.installer_dir.rstrip("/") + "/plugins"


def minio_target(settings: Settings) -> MinioTarget:
    """The MinIO pod and the registry's bucket (REGCLEAN_MINIO_…)."""
    settings.require("minio_selector")
    assert settings.minio_selector is not None
    return MinioTarget(
        namespace=settings.minio_namespace,
        selector=settings.minio_selector,
        container=settings.minio_container,
        env_file=settings.minio_env_file,
        url=settings.minio_url,
        bucket=settings.minio_bucket,
        purge_timeout=settings.purge_timeout.total_seconds(),
    )


def registry_pods(settings: Settings) -> RegistryPods:
    """The registry's pods, whose blob cache the purge clears (REGCLEAN_REGISTRY_NAMESPACE, _SELECTOR,
    _CONFIG, _CONFIGMAP, _RESTART_COMMAND)."""
    settings.require("registry_selector")
    assert settings.registry_selector is not None
    return RegistryPods(
        settings.registry_namespace,
        settings.registry_selector,
        settings.registry_ready_timeout.total_seconds(),
        config_path=settings.registry_config,
        configmap=settings.registry_configmap,
        restart_command=settings.registry_restart_command,
    )
