"""The Kubernetes API client: the only module that imports `kubernetes`.

The official client is synchronous, so every call runs in a worker thread. Lists are fetched
as raw JSON (no model deserialisation): the ACP kinds are custom resources anyway, and the
inventory of a large platform is tens of thousands of objects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol, cast

import kubernetes.client
import kubernetes.config
import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from actions.errors import (
    ActionError,
    ApiError,
    ApiForbidden,
    ApiListExpired,
    ApiNotFound,
    ApiUnauthorized,
    ApiUnreachable,
    KubeConfigError,
)
from actions.kube_discovery import ApiResource, Discovery, discover
from actions.kube_retry import ApiStatusError, RetryPolicy, Sleep, status_text, with_retries

__all__ = ["ApiResource", "Discovery", "JsonObject", "KubeClient", "KubeReader", "RetryPolicy"]

JsonObject = dict[str, Any]

#: (connect, read) seconds for one API request
REQUEST_TIMEOUT = (10.0, 120.0)
#: urllib3's own retries: connection failures only. Its default would also retry a 429 or 503 with
#: `Retry-After`, sleeping in the worker thread, outside RetryPolicy's bounds and the log.
TRANSPORT_RETRIES = urllib3.Retry(total=3, status=0, status_forcelist=(), respect_retry_after_header=False)


class KubeReader(Protocol):
    """What the actions need from a Kubernetes client (`KubeClient` is the real one)."""

    async def discover(self, plurals: Iterable[str]) -> Discovery: ...

    def list_pages(
        self,
        resource: ApiResource,
        *,
        page_size: int = 500,
        label_selector: str | None = None,
        namespace: str | None = None,
    ) -> AsyncIterator[list[JsonObject]]: ...


class KubeClient:
    """Reads from the Kubernetes API; every public method is async and never blocks the loop.

    Every GET (discovery, and each page of a list) that is answered 429 or 5xx is tried again as
    `retry` says (`actions.kube_retry`), waiting with `sleep`, which a test replaces.
    """

    def __init__(
        self,
        api_client: kubernetes.client.ApiClient,
        *,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._api = api_client
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    @classmethod
    def from_config(
        cls, kubeconfig: str | None = None, *, retry: RetryPolicy | None = None, sleep: Sleep = asyncio.sleep
    ) -> KubeClient:
        """Build a client from a kubeconfig path (or `KUBECONFIG`), falling back to in-cluster config."""
        configuration = kubernetes.client.Configuration()
        try:
            try:
                kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
            except ConfigException:
                if kubeconfig:
                    raise
                kubernetes.config.load_incluster_config(client_configuration=configuration)
        except (ConfigException, OSError) as exc:
            where = (
                f"the kubeconfig {kubeconfig}" if kubeconfig else "KUBECONFIG, ~/.kube/config or in-cluster"
            )
            raise KubeConfigError(
                f"No usable Kubernetes configuration in {where}: {_first_line(exc)}. "
                "Set KUBECONFIG to the global cluster's kubeconfig, or run regclean inside the cluster."
            ) from None
        configuration.retries = TRANSPORT_RETRIES
        return cls(kubernetes.client.ApiClient(configuration), retry=retry, sleep=sleep)

    @property
    def api_client(self) -> kubernetes.client.ApiClient:
        """The underlying client, for the exec WebSocket (`actions.kube_exec`), which shares its configuration."""
        return self._api

    @property
    def server(self) -> str:
        """The API server's base URL (no credentials)."""
        return str(self._api.configuration.host)

    def close(self) -> None:
        """Release the connection pool."""
        self._api.close()

    async def get(self, path: str, query: Iterable[tuple[str, str]] = ()) -> JsonObject:
        """GET a path and return the decoded JSON object; a 429 or 5xx is tried again (`RetryPolicy`)."""
        params = list(query)
        return await with_retries(
            lambda: asyncio.to_thread(self._get_sync, path, params), self._retry, self._sleep, what=path
        )

    async def create(self, path: str, body: JsonObject) -> JsonObject:
        """POST a JSON object and return the server's answer: for reviews that change nothing
        (SelfSubjectAccessReview); a 429 or 5xx is tried again like a GET."""
        return await with_retries(
            lambda: asyncio.to_thread(self._call_sync, "POST", path, [], body),
            self._retry,
            self._sleep,
            what=path,
        )

    async def discover(self, plurals: Iterable[str]) -> Discovery:
        """Find resources by plural name through API discovery, as kubectl does (`actions.kube_discovery`).

        Every group is searched (preferred version first), because the ACP kinds move between
        groups and versions from one release to the next; a group that does not answer is skipped.
        """
        return await discover(self.get, self.server, plurals)

    async def list_pages(
        self,
        resource: ApiResource,
        *,
        page_size: int = 500,
        label_selector: str | None = None,
        namespace: str | None = None,
    ) -> AsyncIterator[list[JsonObject]]:
        """Yield the items of a collection page by page, following `continue` tokens to the end."""
        path = resource.collection_path(namespace)
        token: str | None = None
        while True:
            query = [("limit", str(page_size))]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page = await self.get(path, query)
            items = page.get("items")
            if not isinstance(items, list):
                raise ApiError(f"The API server answered {path} without an item list.")
            yield items
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    def _get_sync(self, path: str, query: list[tuple[str, str]]) -> JsonObject:
        return self._call_sync("GET", path, query, None)

    def _call_sync(
        self, verb: str, path: str, query: list[tuple[str, str]], payload: JsonObject | None
    ) -> JsonObject:
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        method, url, headers, body, post = self._api.param_serialize(
            method=verb,
            resource_path=path,
            query_params=query,
            header_params=headers,
            body=payload,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(method, url, headers, body, post, _request_timeout=REQUEST_TIMEOUT)
            data = response.read()
        except ApiException as exc:
            raise _status_error(path, int(exc.status or 0), exc.body, exc.reason, exc.headers) from None
        except urllib3.exceptions.ProtocolError:
            raise ApiError(f"The connection to {self.server} was cut while reading {path}.") from None
        except urllib3.exceptions.HTTPError as exc:
            raise ApiUnreachable(
                f"Cannot reach the Kubernetes API at {self.server}: {type(exc).__name__}. "
                "Check KUBECONFIG and the network path to the global cluster."
            ) from None
        if response.status >= 400:
            raise _status_error(path, response.status, data, response.reason, response.headers)
        try:
            decoded = json.loads(data)
        except ValueError:
            raise ApiError(f"The API server answered {path} with something that is not JSON.") from None
        if not isinstance(decoded, dict):
            raise ApiError(f"The API server answered {path} with JSON that is not an object.")
        return cast(JsonObject, decoded)


def _status_error(
    path: str, status: int, body: object, reason: object, headers: object = None
) -> ActionError:
    message = _status_message(body) or str(reason or "")
    detail = f"{path}: {message}" if message else path
    if status == 401:
        return ApiUnauthorized(f"The Kubernetes API refused our credentials (401) for {detail}.")
    if status == 403:
        return ApiForbidden(
            f"The Kubernetes API forbade {detail} (403). Grant regclean's account get/list on it."
        )
    if status == 404:
        return ApiNotFound(f"Not found (404): {detail}.")
    if status == 410:
        return ApiListExpired(
            f"The list expired part way through (410) at {detail}. The server dropped the snapshot "
            "while we paged; run the step again."
        )
    said = _status_message(body) or generic_message(status, body)
    return ApiStatusError(
        f"The Kubernetes API answered {status_text(status)} for {path}: {said}.",
        status=status,
        detail=said,
        retry_after=_retry_after(headers),
    )


def generic_message(status: int, body: object) -> str:
    """client-go's words for an error whose body is not a Status (`NewGenericServerResponse`).

    An aggregated API whose backend is down answers 503 with the text `service unavailable`, and
    API Priority and Fairness answers 429 with a text: kubectl shows these sentences for them.
    """
    known = {
        429: "the server has received too many requests and has asked us to try again later",
        503: "the server is currently unable to handle the request",
        504: "the server was unable to return a response in the time allotted, but may still be processing the request",
    }
    if status in known:
        return known[status]
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    text = " ".join(text.split())[:200]
    if status >= 500:
        return f"an error on the server ({json.dumps(text)}) has prevented the request from succeeding"
    return f"the server responded with the status code {status} but did not return more information"


def _retry_after(headers: object) -> float | None:
    """`Retry-After` in seconds, as client-go reads it (an integer; anything else is no header)."""
    getter = getattr(headers, "get", None)
    value = getter("Retry-After") if callable(getter) else None
    try:
        return float(int(str(value).strip())) if value is not None else None
    except ValueError:
        return None


def _status_message(body: object) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        status = json.loads(body)
    except ValueError:
        return ""
    return str(status.get("message", "")) if isinstance(status, dict) else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
