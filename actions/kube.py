"""The Kubernetes API client: the only module that imports `kubernetes`.

The official client is synchronous, so every call runs in a worker thread. Lists are fetched
as raw JSON (no model deserialisation): the ACP kinds are custom resources anyway, and the
inventory of a large platform is tens of thousands of objects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
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
    ResourceNotServed,
)

JsonObject = dict[str, Any]

#: (connect, read) seconds for one API request
REQUEST_TIMEOUT = (10.0, 120.0)


@dataclass(frozen=True)
class ApiResource:
    """A resource as API discovery describes it."""

    group: str
    """API group; empty for the core group."""
    version: str
    """The version the server prefers for this group."""
    plural: str
    """The name used in URLs, e.g. `operatorviews`."""
    kind: str
    """The object kind, e.g. `OperatorView`."""
    namespaced: bool
    """Whether objects live in namespaces."""

    @property
    def group_version(self) -> str:
        """`group/version`, or just `version` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None = None) -> str:
        """The URL path of the collection, across all namespaces when `namespace` is None."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


class KubeReader(Protocol):
    """What the actions need from a Kubernetes client (`KubeClient` is the real one)."""

    async def discover(self, plurals: Iterable[str]) -> dict[str, ApiResource]: ...

    def list_pages(
        self,
        resource: ApiResource,
        *,
        page_size: int = 500,
        label_selector: str | None = None,
        namespace: str | None = None,
    ) -> AsyncIterator[list[JsonObject]]: ...


class KubeClient:
    """Reads from the Kubernetes API; every public method is async and never blocks the loop."""

    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self._api = api_client

    @classmethod
    def from_config(cls, kubeconfig: str | None = None) -> KubeClient:
        """Build a client from a kubeconfig path (or `KUBECONFIG`), falling back to in-cluster config."""
        try:
            if kubeconfig:
                return cls(kubernetes.config.new_client_from_config(config_file=kubeconfig))
            try:
                return cls(kubernetes.config.new_client_from_config())
            except ConfigException:
                configuration = kubernetes.client.Configuration()
                kubernetes.config.load_incluster_config(client_configuration=configuration)
                return cls(kubernetes.client.ApiClient(configuration))
        except (ConfigException, OSError) as exc:
            where = (
                f"the kubeconfig {kubeconfig}" if kubeconfig else "KUBECONFIG, ~/.kube/config or in-cluster"
            )
            raise KubeConfigError(
                f"No usable Kubernetes configuration in {where}: {_first_line(exc)}. "
                "Set KUBECONFIG to the global cluster's kubeconfig, or run regclean inside the cluster."
            ) from None

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
        """GET a path and return the decoded JSON object."""
        return await asyncio.to_thread(self._get_sync, path, list(query))

    async def discover(self, plurals: Iterable[str]) -> dict[str, ApiResource]:
        """Find resources by plural name through API discovery, as kubectl does.

        Every group is searched (preferred version first), because the ACP kinds move between
        groups and versions from one release to the next. Raises `ResourceNotServed` for a
        plural that no group serves.
        """
        wanted = set(plurals)
        candidates = ["/api/v1"]
        groups = (await self.get("/apis")).get("groups") or []
        for group in groups:
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            versions = [v.get("groupVersion") for v in group.get("versions") or []]
            ordered = [preferred, *[v for v in versions if v != preferred]] if preferred else versions
            candidates.extend(f"/apis/{gv}" for gv in ordered if gv)

        found: dict[str, ApiResource] = {}
        lists = await asyncio.gather(*(self._resource_list(path) for path in candidates))
        for path, resources in zip(candidates, lists, strict=True):
            group_version = path.removeprefix("/apis/").removeprefix("/api/")
            group, _, version = group_version.rpartition("/")
            for res in resources:
                name = res.get("name", "")
                if name in wanted and name not in found:
                    found[name] = ApiResource(
                        group=group,
                        version=version,
                        plural=name,
                        kind=str(res.get("kind", "")),
                        namespaced=bool(res.get("namespaced")),
                    )
        missing = sorted(wanted - found.keys())
        if missing:
            raise ResourceNotServed(
                f"The API server at {self.server} serves no resource named {', '.join(missing)} "
                f"(searched {len(candidates)} API group versions). Is KUBECONFIG pointing at the "
                "global cluster of an ACP installation?"
            )
        return found

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

    async def _resource_list(self, path: str) -> list[Mapping[str, Any]]:
        try:
            body = await self.get(path)
        except ApiNotFound:
            # A group listed by /apis but gone a moment later (an aggregated API being removed).
            return []
        return [r for r in body.get("resources") or [] if "/" not in str(r.get("name", ""))]

    def _get_sync(self, path: str, query: list[tuple[str, str]]) -> JsonObject:
        method, url, headers, body, post = self._api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(method, url, headers, body, post, _request_timeout=REQUEST_TIMEOUT)
            data = response.read()
        except ApiException as exc:
            raise _status_error(path, int(exc.status or 0), exc.body, exc.reason) from None
        except urllib3.exceptions.ProtocolError:
            raise ApiError(f"The connection to {self.server} was cut while reading {path}.") from None
        except urllib3.exceptions.HTTPError as exc:
            raise ApiUnreachable(
                f"Cannot reach the Kubernetes API at {self.server}: {type(exc).__name__}. "
                "Check KUBECONFIG and the network path to the global cluster."
            ) from None
        if response.status >= 400:
            raise _status_error(path, response.status, data, response.reason)
        try:
            decoded = json.loads(data)
        except ValueError:
            raise ApiError(f"The API server answered {path} with something that is not JSON.") from None
        if not isinstance(decoded, dict):
            raise ApiError(f"The API server answered {path} with JSON that is not an object.")
        return cast(JsonObject, decoded)


def _status_error(path: str, status: int, body: object, reason: object) -> ActionError:
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
    return ApiError(f"The Kubernetes API answered {status} for {detail}.")


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
