"""Settings: the environment, over an optional YAML file (same names, lower case, no prefix).

The environment names are a contract: tests, docs and operators rely on them.
`bot/config/reference.py` renders the README's configuration table from this class, and a test
checks that the README holds exactly that table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config.file import read_config_file
from bot.config.secrets import secrets_from_files
from bot.config.values import (
    STEP_EXPECTED,
    check_bucket,
    check_ca_file,
    check_export_dir,
    check_selector,
    check_windows,
    check_zone,
    step_expected,
)
from bot.core.durations import parse_duration
from bot.core.errors import ConfigError as ConfigError
from bot.steps.schedule.windows import split_rules

CONFIG_FILE_ENV = "REGCLEAN_CONFIG"
PREFIX = "REGCLEAN_"
_BOOL = TypeAdapter(bool)


def _env(name: str) -> dict[str, Any]:
    return {"env": name}


class NodeOverride(BaseModel):
    """Settings of one node that differ from the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int | None = Field(None, ge=1, le=65535)
    user: str | None = None
    minio_dir: str | None = None
    backup_dir: str | None = None


class Settings(BaseSettings):
    """Everything regclean can be told. Build it with `Settings.load()`."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    slack_bot_token: SecretStr | None = Field(None, json_schema_extra=_env("SLACK_BOT_TOKEN"))
    """The bot token (`xoxb-…`) from the app's OAuth page."""
    slack_signing_secret: SecretStr | None = Field(None, json_schema_extra=_env("SLACK_SIGNING_SECRET"))
    """Set it to serve HTTP mode: every request's signature is checked with it."""
    slack_app_token: SecretStr | None = Field(None, json_schema_extra=_env("SLACK_APP_TOKEN"))
    """Set it (`xapp-…`, scope `connections:write`) to use Socket Mode: no public endpoint needed."""
    slack_channel: str | None = Field(None, json_schema_extra=_env("SLACK_CHANNEL"))
    """Channel ID for run messages; default: the channel the run was started from."""
    slack_api_url: str | None = Field(None, json_schema_extra=_env("SLACK_API_URL"))
    """Web API base URL; only for the simulator (default: Slack's)."""
    slack_post_interval: float = Field(1.0, ge=0, le=60)
    """Seconds between the bot's thread posts to one channel (Slack allows about one message a second)."""
    host: str = "0.0.0.0"  # noqa: S104 - the bot is a server; bind address is configurable
    """Listen address: `/healthz` and `/readyz` in both modes, `/slack/events` in HTTP mode."""
    port: int = Field(3000, ge=0, le=65535)
    """Listen port (both modes: the health endpoints are served in Socket Mode too)."""
    operators: tuple[str, ...] = ()
    """Who may run the runbook's steps: Slack user IDs and `@usergroup` handles, comma-separated."""
    approvers: tuple[str, ...] = ()
    """Who may approve a purge: Slack user IDs and `@usergroup` handles, comma-separated."""
    kubeconfig: str | None = Field(None, json_schema_extra=_env("KUBECONFIG"))
    """Kubeconfig of the global cluster; default: in-cluster configuration."""
    kube_retries: int = Field(4, ge=1, le=20)
    """Tries of one Kubernetes API request (discovery, each page of a list) answered 429 or 5xx, the first included; waits `Retry-After`, else 0.25 s doubling (at most 10 s)."""
    kube_retry_seconds: float = Field(30.0, ge=0, le=600)
    """Most seconds spent waiting between the tries of one Kubernetes API request; past it, its error is final."""
    database_url: SecretStr = Field(
        SecretStr("sqlite:///regclean.db"), json_schema_extra=_env("DATABASE_URL")
    )
    """The store and the scheduler's job store: a SQLite file (default), or PostgreSQL (`postgresql+psycopg://USER:PASSWORD@HOST/DB`, with the extra `regclean[postgres]`). One process runs the steps at a time; another on the same database waits (runner lease)."""
    runner_lease_seconds: float = Field(30.0, ge=1, le=3600)
    """How long the runner lease lasts unless its holder renews it (every third of it): a second regclean on the same database takes over this long after the first one died (at once after a clean stop, or when the first ran on the same host and is gone)."""
    ssh_user: str = "root"
    """The user regclean logs in as on the control-plane nodes."""
    ssh_key: str | None = None
    """Path of the private key for the nodes (key authentication only)."""
    ssh_known_hosts: str | None = None
    """Path of the known_hosts file; host keys are always checked against it, never accepted blindly."""
    ssh_port: int = Field(22, ge=1, le=65535)
    """SSH port of the nodes."""
    ssh_connect_timeout: float = Field(15.0, gt=0)
    """Seconds to wait for a node to answer."""
    ssh_command_timeout: float = Field(4 * 3600.0, gt=0)
    """Seconds a remote command (the archive of one node) may take."""
    nodes: tuple[str, ...] = ()
    """Control-plane node addresses (`address` or `address:port`), comma-separated; empty: discover them."""
    expected_nodes: int = Field(3, ge=1)
    """How many control-plane nodes there must be."""
    node_overrides: dict[str, NodeOverride] = Field(default_factory=dict)
    """Per-node `port`, `user`, `minio_dir`, `backup_dir`, by address (YAML mapping, or JSON in the environment)."""
    minio_dir: str = "/cpaas/minio"
    """What to back up on each node."""
    backup_dir: str | None = None
    """Where each node writes `<ip>-minio.tar` (on the node itself; not inside the MinIO directory)."""
    backup_margin_percent: float = Field(10.0, ge=0)
    """Free space required in the backup directory beyond the archive's size, in percent."""
    backup_copy_dir: str | None = None
    """If set, a directory on the bot's host where every verified archive is also copied (SFTP), sha256 checked."""
    data_dir: str = "."
    """Directory for regclean's own files on its host (the image exports by default); default: the working directory (`/var/lib/regclean` in the image)."""
    export_dir: str | None = None
    """Where `/regclean export` writes the custom images as OCI image layouts, one `run-<id>/` per run: a directory on regclean's host (default `<REGCLEAN_DATA_DIR>/exports`), or `sftp://<node address>/path` on a node regclean reaches over SSH (REGCLEAN_NODES, REGCLEAN_INSTALLER_NODE or a discovered control-plane node; host key verified)."""
    inventory_page_size: int = Field(500, ge=1, le=5000)
    """Objects per Kubernetes list request; every page is read."""
    inventory_max_age: timedelta = timedelta(hours=24)
    """How old the run's inventory may be when the purge is requested and when it starts."""
    approvals_required: int = Field(2, ge=1, le=10)
    """Distinct approvers a purge needs."""
    approval_ttl: timedelta = timedelta(minutes=30)
    """How long an approval request stays open (`30m`, `2h`)."""
    allow_self_approval: bool = False
    """May the person who asked for the purge approve it."""
    single_approver_accepted: bool = False
    """Must be `true` for REGCLEAN_APPROVALS_REQUIRED=1 to start: one approval then purges (with REGCLEAN_ALLOW_SELF_APPROVAL, the requester's own), so the two-person rule no longer holds. The approval request says which rule is in force."""
    windows: tuple[str, ...] = ()
    """Recurring maintenance windows, `;`-separated, each `MINUTE HOUR DAY MONTH WEEKDAY DURATION` (weekdays by name, at most 24h), e.g. `0 2 * * SAT 4h; 0 22 * * WED 2h`. When windows are set or declared, the purge runs only inside one."""
    windows_timezone: str = "UTC"
    """IANA time zone the windows' cron is read in (e.g. `Europe/Berlin`); durations are elapsed time."""
    step_expected: dict[str, timedelta] = Field(default_factory=lambda: dict(STEP_EXPECTED))
    """How long each step is expected to take, e.g. `purge=3h,restore_core=2h` (the rest keep their defaults); past it, the channel is told. Also warns when a restore would outlast the window."""
    minio_namespace: str = "kube-system"
    """Namespace of the MinIO pod."""
    minio_selector: str | None = None
    """Label selector of the MinIO pods (e.g. `app=minio`); of those that match, the first Ready one by name runs the purge."""
    minio_container: str | None = None
    """Container to exec into in the MinIO pod; default: the pod's first."""
    minio_env_file: str = "/etc/config/minio.env"
    """File in the MinIO pod that exports MINIO_ACCESS_KEY and MINIO_SECRET_KEY."""
    minio_url: str = "https://127.0.0.1:9000"
    """MinIO's S3 endpoint as seen from inside its pod."""
    minio_bucket: str = "registry"
    """The bucket the purge empties."""
    minio_stop_command: str | None = None
    """How MinIO is stopped on every control-plane node, for the rollback plan (regclean never runs it)."""
    minio_start_command: str | None = None
    """How MinIO is started again on every control-plane node, for the rollback plan (regclean never runs it)."""
    purge_timeout: timedelta = timedelta(hours=6)
    """How long the purge command may run before its outcome counts as unknown."""
    registry_namespace: str = "kube-system"
    """Namespace of the registry pods restarted after the purge."""
    registry_selector: str | None = None
    """Label selector of the registry pods (e.g. `app=registry,component=registry`)."""
    registry_ready_timeout: timedelta = timedelta(minutes=10)
    """How long the restarted registry pods may take to become Ready."""
    registry_config: str = "/etc/docker/registry/config.yml"
    """The registry's configuration file inside its pods, read with `cat` before the purge (storage driver, blob-descriptor cache, redirects)."""
    registry_configmap: str | None = None
    """A ConfigMap (`name`, or `namespace/name`, with the key `config.yml`) to read the registry's configuration from instead of its pods."""
    registry_restart_command: str | None = None
    """For a registry run as static pods: the command run over SSH on each registry pod's node to restart its container, e.g. `crictl stop $(crictl ps -q --name registry)` (the kubelet then starts it again)."""
    registry: str | None = None
    """The platform registry, `host:port`."""
    registry_username: str | None = None
    """User for the platform registry."""
    registry_password: SecretStr | None = None
    """Password for the platform registry."""
    registry_ca_file: str | None = None
    """PEM bundle of the platform's CA. TLS to the registry (and to the storage it redirects blob downloads to) is always verified, against the system's CAs plus this bundle."""
    registry_plain_http: bool = False
    """The registry speaks plain HTTP, not HTTPS."""
    registry_insecure: bool | None = None
    """Deprecated alias of `REGCLEAN_REGISTRY_PLAIN_HTTP`, accepted for one release; a warning at start-up names the new setting."""
    platform_namespaces: tuple[str, ...] = ("acp", "ait", "3rdparty")
    """Registry namespaces the installer's `upload.sh` restores (the platform-namespace rule); any other tag that no package's `violet show` names is a custom image."""
    platform_url: str | None = None
    """The platform's address for `violet push --platform-address`."""
    platform_username: str | None = None
    """User for `violet push`."""
    platform_password: SecretStr | None = None
    """Password for `violet push`."""
    platform_token: SecretStr | None = None
    """The platform user's API token for `violet push --platform-token`; when set, no username or password is passed (users from an identity provider such as LDAP or OIDC must use one)."""
    probe_images: tuple[str, ...] = ("acp/core:latest",)
    """Images the verification always pulls (repository:tag in the platform registry), comma-separated."""
    verify_concurrency: int = Field(8, ge=1, le=64)
    """How many images the pull check downloads at once."""
    violet_concurrency: int = Field(1, ge=1, le=16)
    """How many plugin packages are pushed at once (the runbook pushes one at a time)."""
    restore_timeout: timedelta = timedelta(hours=4)
    """How long `upload.sh` (each mode) or one `violet push` may run."""
    installer_node: str | None = None
    """Address of the node holding the installer; default: the first control-plane node."""
    installer_dir: str = "/cpaas/installer"
    """The installer's directory on that node (`res/upload.sh` lives there)."""
    plugin_dir: str | None = None
    """Directory of the plugin packages on the installer node; default: `<installer_dir>/plugins`."""
    log_level: str = "INFO"
    """Python logging level."""
    log_format: str = "text"
    """`text`, or `json`: one object per line with time, level, logger, message, and the run and step it concerns."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`load()` merges the YAML file and the environment itself, by the documented names."""
        return (init_settings,)

    @field_validator("node_overrides", mode="before")
    @classmethod
    def _json_mapping(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError(
                    "must be a JSON object of address → {port, user, minio_dir, backup_dir}"
                ) from None
        return value

    @field_validator(
        "inventory_max_age",
        "approval_ttl",
        "purge_timeout",
        "registry_ready_timeout",
        "restore_timeout",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("windows", mode="before")
    @classmethod
    def _split_windows(cls, value: object) -> object:
        return split_rules(value) if isinstance(value, str) else value

    @field_validator("windows")
    @classmethod
    def _check_windows(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_windows(value)

    @field_validator("step_expected", mode="before")
    @classmethod
    def _expected(cls, value: object) -> object:
        return step_expected(value)

    @field_validator("windows_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("registry_ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        return check_ca_file(value)

    @model_validator(mode="before")
    @classmethod
    def _insecure_alias(cls, data: Any) -> Any:
        """REGCLEAN_REGISTRY_INSECURE sets REGCLEAN_REGISTRY_PLAIN_HTTP, unless that says otherwise."""
        if not isinstance(data, dict) or data.get("registry_insecure") in (None, ""):
            return data
        try:
            alias = _BOOL.validate_python(data["registry_insecure"])
            plain = (
                None
                if data.get("registry_plain_http") in (None, "")
                else _BOOL.validate_python(data["registry_plain_http"])
            )
        except ValidationError:
            return data  # the field's own check names it
        if plain is None:
            return {**data, "registry_plain_http": alias}
        if plain != alias:
            raise ConfigError(
                f"Invalid configuration: REGCLEAN_REGISTRY_INSECURE={str(alias).lower()} (deprecated) "
                f"contradicts REGCLEAN_REGISTRY_PLAIN_HTTP={str(plain).lower()}; remove REGCLEAN_REGISTRY_INSECURE."
            )
        return data

    def deprecations(self) -> list[str]:
        """Sentences to log at start-up about deprecated settings in use, each naming its replacement."""
        if self.registry_insecure is None:
            return []
        return [
            "REGCLEAN_REGISTRY_INSECURE is deprecated and will be removed in the next release: set "
            f"REGCLEAN_REGISTRY_PLAIN_HTTP={str(self.registry_insecure).lower()} instead (plain HTTP "
            "to the registry). For an HTTPS registry with the platform's CA, set REGCLEAN_REGISTRY_CA_FILE."
        ]

    @model_validator(mode="after")
    def _two_person_rule(self) -> Settings:
        """Fewer than two approvals is a choice to make in so many words, never a silent default."""
        if self.approvals_required < 2 and not self.single_approver_accepted:
            alone = (
                " (and REGCLEAN_ALLOW_SELF_APPROVAL lets the requester be that approver)"
                if self.allow_self_approval
                else ""
            )
            raise ValueError(
                f"REGCLEAN_APPROVALS_REQUIRED={self.approvals_required} lets a single approval start the purge{alone}: "
                "the two-person rule no longer holds. Set REGCLEAN_APPROVALS_REQUIRED=2, or "
                "REGCLEAN_SINGLE_APPROVER_ACCEPTED=true to run this way on purpose."
            )
        return self

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in ("text", "json"):
            raise ValueError(f"'{value}' is not a log format: use json or text")
        return value.lower()

    @field_validator("minio_bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return check_bucket(value)

    @field_validator("export_dir")
    @classmethod
    def _export_dir(cls, value: str | None) -> str | None:
        return check_export_dir(value)

    @field_validator("minio_selector", "registry_selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        return check_selector(value)

    @field_validator(
        "minio_dir", "backup_dir", "backup_copy_dir", "installer_dir", "plugin_dir", "minio_env_file"
    )
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"'{value}' must be an absolute path")
        return value

    @field_validator("operators", "approvers", "nodes", "platform_namespaces", "probe_images", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("operators", "approvers")
    @classmethod
    def _check_entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not (entry.startswith("@") and len(entry) > 1) and not entry[:1].isalpha():
                raise ValueError(f"'{entry}' is neither a Slack user ID (U…/W…) nor an @usergroup handle")
        return value

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, config_file: str | None = None) -> Settings:
        """Read the YAML file (if any, from `config_file` or `REGCLEAN_CONFIG`), then the secret files
        (`NAME_FILE`, `REGCLEAN_SECRETS_DIR`: `bot/config/secrets.py`), then the environment."""
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        path = config_file or env.get(CONFIG_FILE_ENV)
        if path:
            data.update(read_config_file(Path(path), cls.model_fields))
        data.update(secrets_from_files(env, {name: env_name(name) for name in secret_settings()}))
        for name in cls.model_fields:
            value = env.get(env_name(name))
            if value is not None and value != "":
                data[name] = value
        try:
            return cls(**data)
        except ValidationError as exc:
            problems = "; ".join(
                (f"{env_name(str(err['loc'][0]))}: " if err["loc"] else "")
                + str(err["msg"]).removeprefix("Value error, ").rstrip(".")
                for err in exc.errors(include_input=False, include_url=False)
            )
            raise ConfigError(f"Invalid configuration: {problems}.") from None

    def require(self, *names: str) -> None:
        """Raise ConfigError naming every one of these settings that is not set."""
        missing = [env_name(n) for n in names if getattr(self, n) in (None, "", ())]
        if missing:
            raise ConfigError(f"This needs {', '.join(missing)} to be set (environment or config file).")


def secret_settings() -> list[str]:
    """The settings that hold a secret (`SecretStr`): never shown, and readable from files."""
    return [
        name
        for name, info in Settings.model_fields.items()
        if info.annotation is SecretStr or SecretStr in get_args(info.annotation)
    ]


def env_name(field: str) -> str:
    """The environment variable of a setting."""
    info = Settings.model_fields.get(field)
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict) and isinstance(extra.get("env"), str):
        return str(extra["env"])
    return PREFIX + field.upper()
