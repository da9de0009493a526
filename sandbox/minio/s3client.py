"""The `mc` stand-in's S3 client: signed REST requests and their XML answers, with nothing imported
that Python does not ship.

The real `mc` is a Go binary built on minio-go, which signs its requests (AWS Signature V4), sends
them over one keep-alive connection and reads S3's XML itself; it starts in milliseconds. The
stand-in runs once per `mc` command (the runbook runs it in the MinIO pod a dozen times a night,
the tests hundreds of times), and boto3 alone took about 0.4 s of CPU to import and build a client,
most of what each command cost. So this speaks the few S3 calls `mc` makes directly, as minio-go
does: path-style addressing, one attempt (no retries), a 5 s connect and a 120 s read timeout.

Failures are raised as `S3Error` (an answer with an HTTP error status: S3's `Code` and `Message`,
or the status alone for a HEAD, which has no body), as `DialError` when no connection could be
made, as the `ssl.SSLError` of a TLS handshake that failed, or as the `OSError` a broken connection gave (a read that
timed out is a `TimeoutError`); `remote.py` words them as mc does.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ssl
from base64 import b64encode
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class DialError(OSError):
    """The connection could not be made (refused, unreachable, no such host, timed out); the
    socket's own error is its `__cause__`. A certificate that does not verify is raised as is."""


class S3Error(Exception):
    """The server answered with an error status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message or code or f"HTTP status {status}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Credentials:
    """What requests are signed with; the secret key never shows in a repr."""

    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"


class S3Client:
    """Path-style S3 requests to one endpoint (`http://host:port` or `https://…`), signed with V4."""

    def __init__(self, endpoint: str, credentials: Credentials, *, verify: bool = True) -> None:
        parts = urlsplit(endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._netloc = parts.netloc
        self._credentials = credentials
        self._verify = verify
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- the calls mc makes ---------------------------------------------------------------------

    def list_buckets(self) -> list[dict[str, Any]]:
        root = _xml(self._request("GET", "/"))
        return [
            {"Name": _text(b, "Name"), "CreationDate": _time(_text(b, "CreationDate"))}
            for b in root.iter(f"{_NS}Bucket")
        ]

    def list_objects_v2(self, bucket: str, query: Mapping[str, str]) -> dict[str, Any]:
        root = _xml(self._request("GET", f"/{bucket}", {"list-type": "2", **query}))
        return {
            "Contents": [_object(c) for c in root.findall(f"{_NS}Contents")],
            "CommonPrefixes": [{"Prefix": _text(p, "Prefix")} for p in root.findall(f"{_NS}CommonPrefixes")],
            "IsTruncated": _text(root, "IsTruncated") == "true",
            "NextContinuationToken": _text(root, "NextContinuationToken"),
        }

    def list_object_versions(self, bucket: str, query: Mapping[str, str]) -> dict[str, Any]:
        root = _xml(self._request("GET", f"/{bucket}", {"versions": "", **query}))
        return {
            "Versions": [_version(v) for v in root.findall(f"{_NS}Version")],
            "DeleteMarkers": [_version(m) for m in root.findall(f"{_NS}DeleteMarker")],
            "IsTruncated": _text(root, "IsTruncated") == "true",
            "NextKeyMarker": _text(root, "NextKeyMarker"),
            "NextVersionIdMarker": _text(root, "NextVersionIdMarker"),
        }

    def head_object(self, bucket: str, key: str) -> dict[str, Any]:
        status, headers, _ = self._request("HEAD", f"/{bucket}/{key}")
        return {
            "ContentLength": int(headers.get("content-length", "0")),
            "ETag": headers.get("etag", ""),
            "LastModified": headers.get("last-modified", ""),
            "HTTPStatusCode": status,
        }

    def get_bucket_versioning(self, bucket: str) -> str:
        return _text(_xml(self._request("GET", f"/{bucket}", {"versioning": ""})), "Status")

    def put_bucket_versioning(self, bucket: str, status: str) -> None:
        body = (
            f'<VersioningConfiguration xmlns="{_NS[1:-1]}"><Status>{escape(status)}</Status>'
            "</VersioningConfiguration>"
        ).encode()
        self._request("PUT", f"/{bucket}", {"versioning": ""}, body)

    def delete_objects(self, bucket: str, objects: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
        """S3 DeleteObjects, not quiet: each entry's `Deleted` or `Errors` answer."""
        items = "".join(
            f"<Object><Key>{escape(key)}</Key>"
            + (f"<VersionId>{escape(version)}</VersionId>" if version else "")
            + "</Object>"
            for key, version in objects
        )
        body = f'<Delete xmlns="{_NS[1:-1]}"><Quiet>false</Quiet>{items}</Delete>'.encode()
        md5 = b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        root = _xml(self._request("POST", f"/{bucket}", {"delete": ""}, body, {"Content-MD5": md5}))
        deleted = [
            {
                "Key": _text(d, "Key"),
                "VersionId": _text(d, "VersionId"),
                "DeleteMarker": _text(d, "DeleteMarker") == "true",
                "DeleteMarkerVersionId": _text(d, "DeleteMarkerVersionId"),
            }
            for d in root.findall(f"{_NS}Deleted")
        ]
        errors = [
            {"Key": _text(e, "Key"), "Code": _text(e, "Code"), "Message": _text(e, "Message")}
            for e in root.findall(f"{_NS}Error")
        ]
        return {"Deleted": deleted, "Errors": errors}

    # --- the wire -------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        target = quote(path, safe="/~")
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted((query or {}).items())
        )
        signed = self._sign(method, target, canonical_query, body, dict(headers or {}))
        conn = self._connection()
        try:
            conn.request(method, target + (f"?{canonical_query}" if canonical_query else ""), body, signed)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        answered = {k.lower(): v for k, v in response.getheaders()}
        if response.status >= 300:
            code, message = _error(data)
            raise S3Error(response.status, code or str(response.status), message)
        return response.status, answered, data

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                context = ssl.create_default_context()
                if not self._verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=CONNECT_TIMEOUT, context=context
                )
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=CONNECT_TIMEOUT)
            try:
                conn.connect()
            except ssl.SSLError:
                raise
            except OSError as err:
                raise DialError(str(err)) from err
            if conn.sock is not None:
                conn.sock.settimeout(READ_TIMEOUT)
            # http.client opens the connection again by itself when the server closed it between
            # two requests; that socket gets the read timeout, not the first dial's.
            conn.timeout = READ_TIMEOUT
            self._conn = conn
        return self._conn

    def _sign(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
    ) -> dict[str, str]:
        """AWS Signature Version 4, as minio-go signs every request."""
        now = datetime.now(UTC)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        headers.update({"Host": self._netloc, "X-Amz-Date": stamp, "X-Amz-Content-Sha256": payload})
        names = sorted(h.lower() for h in headers)
        lowered = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
        canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in names)
        signed_headers = ";".join(names)
        request = "\n".join((method, path, query, canonical_headers, signed_headers, payload))
        scope = f"{day}/{self._credentials.region}/s3/aws4_request"
        to_sign = "\n".join(("AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()))
        key = f"AWS4{self._credentials.secret_key}".encode()
        for part in (day, self._credentials.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._credentials.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return headers


def _xml(answer: tuple[int, dict[str, str], bytes]) -> ElementTree.Element:
    """The body of an answer, parsed (the sandbox's own S3 server; expat resolves no external entity)."""
    return ElementTree.fromstring(answer[2])  # noqa: S314


def _text(element: ElementTree.Element, name: str) -> str:
    found = element.find(f"{_NS}{name}")
    if found is None:
        found = element.find(name)  # an answer without the namespace
    return (found.text or "") if found is not None else ""


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else datetime.fromtimestamp(0, UTC)


def _object(element: ElementTree.Element) -> dict[str, Any]:
    return {
        "Key": _text(element, "Key"),
        "LastModified": _time(_text(element, "LastModified")),
        "ETag": _text(element, "ETag"),
        "Size": int(_text(element, "Size") or 0),
        "StorageClass": _text(element, "StorageClass"),
    }


def _version(element: ElementTree.Element) -> dict[str, Any]:
    return {
        **_object(element),
        "VersionId": _text(element, "VersionId"),
        "IsLatest": _text(element, "IsLatest") == "true",
    }


def _error(data: bytes) -> tuple[str, str]:
    """S3's error `Code` and `Message`; empty when the answer has no XML body (a HEAD)."""
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 (as in `_xml`)
    except ElementTree.ParseError:
        return "", ""
    return _text(root, "Code"), _text(root, "Message")
