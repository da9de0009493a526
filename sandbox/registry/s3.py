"""The sandbox's MinIO: moto's S3 server (a real S3 API) in a child process."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

from .process import ChildServer, free_port

ACCESS_KEY = "sandbox-access-key"
SECRET_KEY = "sandbox-secret-key"
REGION = "us-east-1"


class S3Server:
    """moto's server (`python -m sandbox.registry.moto_server`) on 127.0.0.1 and a free port; `url` is its
    endpoint (plain HTTP).

    moto accepts any credentials; `access_key`/`secret_key` are the fixed values the sandbox hands
    to every client (the registry, boto3, the `mc` stand-in) so that configurations look real.
    """

    def __init__(self, log_dir: Path | None = None) -> None:
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION
        self._port = 0
        self._log_dir = log_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._child: ChildServer | None = None
        self._session: Any = None
        self._session_lock = threading.Lock()

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("S3 server is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def pid(self) -> int | None:
        """moto's process ID while it runs."""
        return self._child.pid if self._child is not None else None

    async def start(self) -> None:
        if self._log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sandbox-s3-")
            log_dir = Path(self._tmp.name)
        else:
            log_dir = self._log_dir
        self._port = free_port()
        self._child = ChildServer("moto S3 server", log_dir / "moto.log")
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        await self._child.start(
            [sys.executable, "-m", "sandbox.registry.moto_server", "-H", "127.0.0.1", "-p", str(self._port)],
            env=env,
            ready_url=self.url + "/",
            ready_statuses={200},
        )

    async def stop(self) -> None:
        if self._child is not None:
            await self._child.stop()
            self._child = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def reset(self) -> None:
        """Forget every bucket and object, as a new server would (moto's `/moto-api/reset`): a few
        milliseconds instead of the half second of CPU a new server takes to start."""
        conn = HTTPConnection("127.0.0.1", self._port, timeout=10)
        try:
            conn.request("POST", "/moto-api/reset")
            status = conn.getresponse().status
        finally:
            conn.close()
        if status != 200:
            raise RuntimeError(f"moto S3 server: reset answered {status}")

    # --- boto3 ---------------------------------------------------------------------------------

    def client(self) -> Any:
        """A new boto3 S3 client on this server (path-style addressing, as the registry uses). The
        clients come from one session, which reads botocore's service model once, not per client."""
        config = Config(s3={"addressing_style": "path"})
        with self._session_lock:  # a session is not thread-safe; its clients are
            if self._session is None:
                self._session = boto3.session.Session(
                    aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key,
                    region_name=self.region,
                )
            return self._session.client("s3", endpoint_url=self.url, config=config)

    def create_bucket(self, name: str = "registry") -> None:
        self.client().create_bucket(Bucket=name)

    def _objects(self, bucket: str) -> list[dict[str, Any]]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [obj for page in paginator.paginate(Bucket=bucket) for obj in page.get("Contents", [])]

    def object_count(self, bucket: str = "registry") -> int:
        return len(self._objects(bucket))

    def object_sizes(self, bucket: str = "registry") -> dict[str, int]:
        """Every object's key and size in bytes, as S3 lists them."""
        return {obj["Key"]: int(obj["Size"]) for obj in self._objects(bucket)}

    def bucket_bytes(self, bucket: str = "registry") -> int:
        return sum(self.object_sizes(bucket).values())

    def set_versioning(self, status: str, bucket: str = "registry") -> None:
        """Turn the bucket's versioning `Enabled` or `Suspended` (as `mc version enable|suspend`)."""
        client = self.client()
        try:
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
        finally:
            client.close()

    def versioning(self, bucket: str = "registry") -> str:
        """`Enabled`, `Suspended`, or "" for a bucket that was never versioned."""
        client = self.client()
        try:
            return str(client.get_bucket_versioning(Bucket=bucket).get("Status") or "")
        finally:
            client.close()

    def stored(self, bucket: str = "registry") -> tuple[int, int]:
        """(bytes, entries) the server really keeps: every version, and every delete marker as an
        entry of 0 bytes, which `list_objects_v2` (and so `bucket_bytes`) does not show."""
        paginator = self.client().get_paginator("list_object_versions")
        size = count = 0
        for page in paginator.paginate(Bucket=bucket):
            size += sum(int(v["Size"]) for v in page.get("Versions", []))
            count += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        return size, count

    def empty_bucket(self, bucket: str = "registry") -> int:
        """Delete every object in the bucket (as `mc rm --recursive --force` does); returns how many."""
        client = self.client()
        keys = [obj["Key"] for obj in self._objects(bucket)]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)
