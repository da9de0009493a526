"""The sandbox's image registry: Debian's docker-registry (CNCF distribution 2.x) on the S3 bucket."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import ssl
from pathlib import Path
from typing import Any, Literal

import aiohttp
import yaml

from .htpasswd import write_htpasswd
from .process import ChildServer, free_port
from .redis import RedisServer
from .s3 import S3Server
from .tls import SandboxCA
from .token import TokenServer

REGISTRY_BINARY = "docker-registry"


def registry_binary() -> str | None:
    """The path of Debian's docker-registry, or None when it is not installed."""
    return shutil.which(REGISTRY_BINARY)


class Registry:
    """docker-registry with the S3 storage driver on `bucket` of `s3`, htpasswd (bcrypt) basic auth,
    and `cache: blobdescriptor: inmemory` as real deployments have, on plain HTTP at `address`.

    With `auth="token"` it asks for bearer tokens instead, from a `TokenServer` (the realm) that
    checks the same username and password; the token server keeps running across restarts.

    With `tls=True` it serves HTTPS, as ACP's registry does, with a certificate for 127.0.0.1 from
    a CA made at the first start (`ca`: `ca.ca_file` is the platform's CA bundle, `ca.cert_dir` is
    for skopeo). With `redirect=True` it answers blob GETs and HEADs with 307 to a pre-signed URL of
    the S3 server (`storage.redirect.disable: false`, distribution's default); `storage_endpoint`
    puts something else in front of the S3 server (a recording tap), for the registry and those
    URLs alike.

    With `cache="redis"` it keeps its blob descriptors in a real redis-server (started with the
    registry, database `redis.db`, a password) instead: those survive `restart()`, as they do a
    real registry's, and only a FLUSHDB of that database clears them.

    The bucket is created at the first start. `restart()` runs a new process on the same address,
    so its in-memory blob-descriptor cache starts empty (as when the registry container restarts);
    `starts` and `started_at` tell each process apart, as a container runtime's IDs and start times do.
    """

    def __init__(
        self,
        s3: S3Server,
        workdir: Path,
        *,
        username: str = "admin",
        password: str = "sandbox-registry-password",  # noqa: S107 (a sandbox test value)
        bucket: str = "registry",
        auth: Literal["htpasswd", "token"] = "htpasswd",
        tls: bool = False,
        redirect: bool = False,
        storage_endpoint: str | None = None,
        cache: Literal["inmemory", "redis"] = "inmemory",
    ) -> None:
        self.s3 = s3
        self.workdir = workdir
        self.username = username
        self.password = password
        self.bucket = bucket
        self.config_path = workdir / "config.yml"
        self.htpasswd_path = workdir / "htpasswd"
        self._port = 0
        self._bucket_created = False
        self._redis_running = False
        self._child = ChildServer("docker-registry", workdir / "registry.log")
        self.token_server = (
            TokenServer(workdir, username=username, password=password) if auth == "token" else None
        )
        self.tls = tls
        self.redirect = redirect
        self.storage_endpoint = storage_endpoint
        self.ca: SandboxCA | None = None
        """The platform's CA (with `tls`), made at the first start."""
        self._certificate: tuple[Path, Path] | None = None
        self.cache = cache
        self.redis = RedisServer(workdir / "redis") if cache == "redis" else None
        """The redis-server holding the blob descriptors (with `cache="redis"`)."""
        self.starts = 0
        """How many registry processes were started: each restart is a new one."""
        self.started_at = ""
        """When the running process started (RFC 3339, seconds), as a container's `startedAt`."""

    @property
    def address(self) -> str:
        if not self._port:
            raise RuntimeError("registry is not started")
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}"

    @property
    def ca_file(self) -> Path | None:
        """The CA bundle a client needs to trust this registry (with `tls`, once started)."""
        return self.ca.ca_file if self.ca is not None else None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context trusting the registry's CA (with `tls`), for the sandbox's own probes."""
        return self.ca.client_context() if self.ca is not None else None

    def client_settings(self) -> dict[str, str]:
        """How regclean is told to reach this registry: the CA bundle over HTTPS, or plain HTTP."""
        if self.ca_file is not None:
            return {"REGCLEAN_REGISTRY_CA_FILE": str(self.ca_file)}
        return {"REGCLEAN_REGISTRY_PLAIN_HTTP": "true"}

    def skopeo_tls(self, side: Literal["src", "dest"]) -> list[str]:
        """skopeo's flags to reach this registry: trust its CA over HTTPS, or allow plain HTTP."""
        if self.ca is not None:
            return [f"--{side}-cert-dir", str(self.ca.cert_dir)]
        return [f"--{side}-tls-verify=false"]

    @property
    def pid(self) -> int | None:
        """docker-registry's process ID while it runs."""
        return self._child.pid

    def auth_headers(self, password: str | None = None) -> dict[str, str]:
        """Basic-auth headers for this registry's user (with another password, to be refused);
        with token auth these only work at the token server's realm."""
        return {"Authorization": aiohttp.encode_basic_auth(self.username, password or self.password)}

    async def start(self) -> None:
        binary = registry_binary()
        if binary is None:
            raise RuntimeError(f"{REGISTRY_BINARY} is not installed (Debian package docker-registry)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self._bucket_created:
            self.s3.create_bucket(self.bucket)
            self._bucket_created = True
        if not self._port:
            self._port = free_port()
        if self.token_server is not None and not self.token_server.running:
            await self.token_server.start()
        if self.redis is not None and not self._redis_running:
            await self.redis.start()
            self._redis_running = True
        if self.tls and self._certificate is None:
            self.ca = SandboxCA(self.workdir / "tls")
            self._certificate = self.ca.issue("registry", ["127.0.0.1"])
        if self.token_server is None and not self.htpasswd_path.exists():
            write_htpasswd(self.htpasswd_path, self.username, self.password)
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        # With AWS_CA_BUNDLE set, the S3 driver panics at start (LoadCustomCABundleError).
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        self.starts += 1
        self.started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        await self._child.start(
            [binary, "serve", str(self.config_path)],
            env=env,
            ready_url=f"{self.url}/v2/",
            ready_statuses={200, 401},
            ready_ssl=self.ssl_context(),
        )

    async def stop(self) -> None:
        await self._child.stop()
        if self.token_server is not None:
            await self.token_server.stop()
        if self.redis is not None:
            await self.redis.stop()
            self._redis_running = False

    async def restart(self) -> None:
        """A new process on the same address: every in-memory cache is empty again."""
        await self._child.stop()
        await self.start()

    def _auth_config(self) -> dict[str, Any]:
        if self.token_server is None:
            return {"htpasswd": {"realm": "sandbox-registry", "path": str(self.htpasswd_path)}}
        return {
            "token": {
                "realm": self.token_server.realm,
                "service": self.token_server.service,
                "issuer": self.token_server.issuer,
                "rootcertbundle": str(self.token_server.root_bundle),
            }
        }

    def config(self) -> dict[str, Any]:
        return {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {
                "s3": {
                    "accesskey": self.s3.access_key,
                    "secretkey": self.s3.secret_key,
                    "region": self.s3.region,
                    "regionendpoint": self.storage_endpoint or self.s3.url,
                    "bucket": self.bucket,
                    "secure": False,
                    "v4auth": True,
                    "rootdirectory": "/",
                },
                "redirect": {"disable": not self.redirect},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": self.cache},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "auth": self._auth_config(),
            "http": self._http_config(),
            **self._redis_config(),
        }

    def _redis_config(self) -> dict[str, Any]:
        if self.redis is None:
            return {}
        return {"redis": {"addr": self.redis.addr, "password": self.redis.password, "db": self.redis.db}}

    def _http_config(self) -> dict[str, Any]:
        http: dict[str, Any] = {"addr": self.address, "secret": "sandbox-registry-http-secret"}
        if self._certificate is not None:
            certificate, key = self._certificate
            http["tls"] = {"certificate": str(certificate), "key": str(key)}
        return http
