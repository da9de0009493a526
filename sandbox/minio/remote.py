"""The S3 side of the `mc` stand-in: S3 requests on an alias (`s3client.py`), failing the way MinIO
and mc's Go client fail.

moto accepts any credentials. When the sandbox sets `SANDBOX_MINIO_ACCESS_KEY` and
`SANDBOX_MINIO_SECRET_KEY` (in the `mc` wrapper, not in the pod's environment), every request is
checked against that pair first, as MinIO checks its root credentials.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from .s3client import Credentials, DialError, S3Client, S3Error

T = TypeVar("T")

EXPECTED_ACCESS_KEY = "SANDBOX_MINIO_ACCESS_KEY"
EXPECTED_SECRET_KEY = "SANDBOX_MINIO_SECRET_KEY"
REGION = "us-east-1"

INVALID_ACCESS_KEY = "The Access Key Id you provided does not exist in our records."
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
ACCESS_DENIED = "Access Denied."


class S3Failure(Exception):
    """A request failed; `str()` is the cause as mc prints it (never a credential)."""

    def __init__(self, cause: str, code: str = "") -> None:
        super().__init__(cause)
        self.code = code


@dataclass(frozen=True)
class Alias:
    """One entry of mc's config: where the server is and how to sign."""

    name: str
    url: str
    access_key: str
    secret_key: str = field(repr=False)


class Remote:
    """An S3 client on one alias; the first request also checks reachability and credentials."""

    def __init__(self, alias: Alias, *, insecure: bool = False, list_denied: bool = False) -> None:
        self.alias = alias
        self._list_denied = list_denied
        """MinIO refuses listings (ListObjects, ListObjectVersions) to these keys, as under a policy
        that denies `s3:ListBucket` and allows the rest."""
        self._insecure = insecure
        self._client: S3Client | None = None
        self._authorized = False

    @property
    def client(self) -> S3Client:
        if self._client is None:
            credentials = Credentials(
                self.alias.access_key or "anonymous", self.alias.secret_key or "anonymous", REGION
            )
            self._client = S3Client(self.alias.url, credentials, verify=not self._insecure)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def authorize(self) -> None:
        """Reach the server, then check the alias's keys as MinIO would; raises S3Failure."""
        if self._authorized:
            return
        self._call(self.client.list_buckets, "/")
        expected = (os.environ.get(EXPECTED_ACCESS_KEY), os.environ.get(EXPECTED_SECRET_KEY))
        if not self.alias.access_key and not self.alias.secret_key:
            raise S3Failure(ACCESS_DENIED, "AccessDenied")
        if expected[0] is not None and self.alias.access_key != expected[0]:
            raise S3Failure(INVALID_ACCESS_KEY, "InvalidAccessKeyId")
        if expected[1] is not None and self.alias.secret_key != expected[1]:
            raise S3Failure(SIGNATURE_MISMATCH, "SignatureDoesNotMatch")
        self._authorized = True

    def buckets(self) -> list[dict[str, Any]]:
        """Every bucket: `Name`, `CreationDate`."""
        self.authorize()
        return self._call(self.client.list_buckets, "/")

    def objects(self, bucket: str, prefix: str = "", *, delimiter: str = "") -> Iterator[dict[str, Any]]:
        """Every object under prefix, in key order; with a delimiter, also `{"Prefix": ...}` entries."""
        self.authorize()
        self._may_list()
        query = {"prefix": prefix}
        if delimiter:
            query["delimiter"] = delimiter
        where = f"/{bucket}/?list-type=2&prefix={quote(prefix)}"
        while True:
            page = self._call(lambda: self.client.list_objects_v2(bucket, query), where)
            entries = list(page.get("Contents", [])) + list(page.get("CommonPrefixes", []))
            yield from sorted(entries, key=lambda e: e.get("Key") or e.get("Prefix", ""))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            query["continuation-token"] = token

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        """An object's metadata, or None when there is no such object."""
        self.authorize()
        try:
            return self._call(lambda: self.client.head_object(bucket, key), f"/{bucket}/{key}")
        except S3Failure as err:
            if err.code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def versions(self, bucket: str, prefix: str = "") -> Iterator[dict[str, Any]]:
        """Every version and delete marker under prefix (ListObjectVersions), by key, newest first.

        Each entry has `Key`, `VersionId`, `IsLatest`, `LastModified`, and `Size` (0 for a delete
        marker), and `DeleteMarker` (True for one).
        """
        self.authorize()
        self._may_list()
        query = {"prefix": prefix}
        where = f"/{bucket}/?versions&prefix={quote(prefix)}"
        while True:
            page = self._call(lambda: self.client.list_object_versions(bucket, query), where)
            entries = [{**v, "DeleteMarker": False} for v in page.get("Versions", [])]
            entries += [{**m, "Size": 0, "DeleteMarker": True} for m in page.get("DeleteMarkers", [])]
            # S3 lists each key's versions newest first, and its delete markers apart: the latest
            # entry leads, the rest follow by time (a stable sort keeps the server's order on ties).
            entries.sort(key=lambda e: (e["Key"], not e.get("IsLatest"), -e["LastModified"].timestamp()))
            yield from entries
            if not page.get("IsTruncated"):
                return
            query["key-marker"] = page.get("NextKeyMarker", "")
            query["version-id-marker"] = page.get("NextVersionIdMarker", "")

    def versioning(self, bucket: str) -> str:
        """The bucket's versioning status: `Enabled`, `Suspended`, or "" (never enabled)."""
        self.authorize()
        return self._call(lambda: self.client.get_bucket_versioning(bucket), f"/{bucket}/?versioning")

    def set_versioning(self, bucket: str, status: str) -> None:
        """`Enabled` or `Suspended` (PutBucketVersioning)."""
        self.authorize()
        self._call(lambda: self.client.put_bucket_versioning(bucket, status), f"/{bucket}/?versioning")

    def delete(self, bucket: str, objects: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
        """Delete up to 1000 objects or versions in one request (S3 DeleteObjects, as mc does).

        `objects` are (key, version id or None). Returns S3's `Deleted` entries: without a version
        id, a versioned bucket answers with a new delete marker (`DeleteMarker`,
        `DeleteMarkerVersionId`) and frees nothing.
        """
        self.authorize()
        result = self._call(lambda: self.client.delete_objects(bucket, objects), f"/{bucket}/?delete")
        errors = result.get("Errors") or []
        if errors:
            first = errors[0]
            raise S3Failure(str(first.get("Message") or first.get("Code")), str(first.get("Code", "")))
        return list(result.get("Deleted") or [])

    def _may_list(self) -> None:
        if self._list_denied:
            raise S3Failure(ACCESS_DENIED, "AccessDenied")

    def _call(self, request: Callable[[], T], path: str) -> T:
        try:
            return request()
        except S3Error as err:
            message = err.message or _status_text(err.status)
            raise S3Failure(message, err.code) from None
        except ssl.SSLCertVerificationError:
            raise S3Failure(
                f'Get "{self.alias.url}{path}": tls: failed to verify certificate: '
                "x509: certificate signed by unknown authority"
            ) from None
        except ssl.SSLError:
            raise S3Failure(
                f'Get "{self.alias.url}{path}": tls: first record does not look like a TLS handshake'
            ) from None
        except DialError as err:
            raise S3Failure(self._dial_error(path, err.__cause__ or err)) from None
        except TimeoutError:
            raise S3Failure(
                f'Get "{self.alias.url}{path}": net/http: timeout awaiting response headers'
            ) from None
        except OSError as err:  # the connection broke after it was made (reset, closed unanswered)
            raise S3Failure(f'Get "{self.alias.url}{path}": {_go_error(err)}') from None

    def _dial_error(self, path: str, err: BaseException) -> str:
        parts = urlsplit(self.alias.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if isinstance(err, TimeoutError):
            why = "i/o timeout"
        elif isinstance(err, ConnectionRefusedError):
            why = "connect: connection refused"
        elif isinstance(err, socket.gaierror):
            return f'Get "{self.alias.url}{path}": dial tcp: lookup {parts.hostname}: no such host'
        else:
            why = "connect: network is unreachable"
        return f'Get "{self.alias.url}{path}": dial tcp {parts.hostname}:{port}: {why}'


def _status_text(status: int) -> str:
    return {403: ACCESS_DENIED, 404: "Object does not exist."}.get(status, f"HTTP status {status}")


def _go_error(err: OSError) -> str:
    """How Go's net/http words a connection that broke mid-request."""
    if isinstance(err, ConnectionResetError):
        return "read: connection reset by peer"
    return "EOF"
