"""An aiohttp server that speaks enough of the Kubernetes REST API for kubectl and the Python client."""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from .access import PATH as ACCESS_REVIEWS
from .access import Access, review_handler
from .defaults import KubeObject
from .deletion import grace_period, mark_deleted
from .discovery import SERVER_VERSION, api_group_list, api_resource_list, api_versions
from .faults import Faults, send_truncated
from .kubeconfig import write_kubeconfig
from .listing import list_page
from .paths import ResourcePath, parse_resource_path
from .rbac import Policy
from .resources import ResourceDef, ResourceIndex, merge_resources
from .status import ApiError, no_such_resource, not_found
from .store import ObjectStore, object_key
from .unkind import Answer, covers, throttled, unavailable, with_group_versions

PodDeletedHook = Callable[[KubeObject], Awaitable[None] | None]
"""Called with the deleted Pod; the registry restart hangs off this."""

SubresourceHandler = Callable[[web.Request, ResourceDef, ResourcePath], Awaitable[web.StreamResponse]]
"""Serves one subresource, such as `pods/exec`; register with `route_subresource`."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KubeApiServer:
    """A simulated Kubernetes API server holding ACP objects; plain HTTP, and RBAC when enforced."""

    def __init__(
        self,
        objects: Iterable[Mapping[str, Any]] = (),
        resources: Mapping[str, ResourceDef] | None = None,
        *,
        on_pod_deleted: PodDeletedHook | None = None,
    ) -> None:
        # Given resources replace the defaults, so that a test can serve a cluster without some kind;
        # `merge_resources({...})` changes a few and keeps the rest.
        self.resources = dict(resources) if resources is not None else merge_resources(None)
        self.index = ResourceIndex(self.resources.values())
        self.store = ObjectStore(self.index)
        self.store.put_all(objects)
        self.on_pod_deleted = on_pod_deleted
        self.faults = Faults()
        self.unavailable: dict[str, Answer] = {}
        """group/version → the answer to every request under it: aggregated APIs that are down."""
        self.requests: list[tuple[str, str]] = []
        """(method, path with query) of every request received, faults included, in order."""
        self.policy: Policy | None = None
        """With a policy, requests need its ServiceAccount's token and its rules (`rbac.py`); without,
        the server is anonymous and allows everything."""
        self._subresources: dict[tuple[str, str], SubresourceHandler] = {}
        self.access = Access()
        """SelfSubjectAccessReviews (`access.py`): `access.deny(verb, resource, namespace)` says no."""
        self._runner: web.AppRunner | None = None
        self._address = ""

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port; with port 0 the kernel picks one, which `url` then reports."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post(ACCESS_REVIEWS, review_handler(self, self.access))
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._address = f"{bound_host}:{bound_port}"

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:40123`."""
        if not self._address:
            raise RuntimeError("the server is not started")
        return f"http://{self._address}"

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def write_kubeconfig(self, path: str | Path) -> Path:
        """Write a kubeconfig whose current context points at this server (with the policy's
        ServiceAccount token when RBAC is enforced)."""
        return write_kubeconfig(path, self.url, token=self.policy.token if self.policy else None)

    def enforce(self, policy: Policy | None) -> None:
        """Authenticate and authorize every request by `policy` from now on (None: allow all)."""
        self.policy = policy

    # --- state -------------------------------------------------------------------------------

    def load(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Create or replace many objects."""
        self.store.put_all(objects)

    def add(self, obj: Mapping[str, Any]) -> KubeObject:
        """Create or replace one object; returns a copy of it as stored (uid, resourceVersion…)."""
        return copy.deepcopy(self.store.put(obj))

    def remove(self, resource: str, namespace: str | None, name: str) -> KubeObject | None:
        """Delete an object named by kind or plural; returns it, or None when it did not exist."""
        return self.store.delete(self.resource(resource), namespace, name)

    def get(self, resource: str, namespace: str | None, name: str) -> KubeObject | None:
        """A copy of one object, or None."""
        obj = self.store.get(self.resource(resource), namespace, name)
        return copy.deepcopy(obj) if obj is not None else None

    def objects(self, resource: str, namespace: str | None = None) -> list[KubeObject]:
        """Copies of a resource's objects in list order."""
        res = self.resource(resource)
        return [copy.deepcopy(self.store.object(res, k)) for k in self.store.keys(res, namespace)]

    def resource(self, name: str) -> ResourceDef:
        """The served resource with this plural, singular or kind (case-insensitive)."""
        wanted = name.lower()
        for r in self.index.all:
            if wanted in (r.plural, r.singular, r.kind.lower()):
                return r
        raise KeyError(f"no served resource is called {name!r}")

    # --- faults ------------------------------------------------------------------------------

    def fail(
        self,
        path_prefix: str,
        status: int,
        *,
        times: int | None = None,
        reason: str | None = None,
        message: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer requests whose path starts with `path_prefix` with a Status of this code."""
        text = message or f"sandbox: injected failure ({status}) for {path_prefix}"
        self.faults.fail(path_prefix, ApiError(status, text, reason=reason), times=times, method=method)

    def set_latency(self, seconds: float) -> None:
        """Delay every response by this long."""
        self.faults.latency = seconds

    def cut_after(self, path_prefix: str, nbytes: int, *, times: int | None = None) -> None:
        """Send only `nbytes` of matching response bodies, then drop the connection."""
        self.faults.cut_after(path_prefix, nbytes, times=times)

    def throttle(
        self, times: int, *, retry_after: int = 1, path_prefix: str = "/", status: bool = False
    ) -> None:
        """API Priority and Fairness: the next `times` requests under `path_prefix` get 429 and `Retry-After`.

        The body is APF's plain text, or with `status` a `Status` (reason TooManyRequests).
        """
        self.faults.fail(path_prefix, throttled(retry_after, status=status), times=times, first=True)

    def unavailable_api(self, group_version: str, *, status: bool = False) -> None:
        """An aggregated API whose backend is down: `/apis` lists it, and everything under
        `/apis/GROUP/VERSION` (its discovery and its resources) answers 503 `service unavailable`
        (with `status`, a `Status` of reason ServiceUnavailable). The group/version need not serve
        any resource here: a stale APIService is listed all the same."""
        self.unavailable[group_version] = unavailable(status=status)

    def restore_api(self, group_version: str) -> None:
        """The aggregated API's backend is back: its resources (if any) are served again."""
        self.unavailable.pop(group_version, None)

    def clear_faults(self) -> None:
        """Disarm every injected fault and the latency."""
        self.faults.clear()

    def route_subresource(self, plural: str, subresource: str, handler: SubresourceHandler) -> None:
        """Serve `.../{plural}/{name}/{subresource}` (any method) with `handler`."""
        self._subresources[(plural, subresource)] = handler

    # --- HTTP --------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)
        failure = self.faults.failure_for(request.method, request.path)
        if failure is not None:
            return failure.response()
        down = next((a for gv, a in self.unavailable.items() if covers(gv, request.path)), None)
        if down is not None:
            return down.response()
        try:
            if self.policy is not None:
                self.policy.check(
                    request.method, request.path, request.query, request.headers.get("Authorization")
                )
            response = await handler(request)
        except ApiError as err:
            response = err.response()
        nbytes = self.faults.cut_for(request.method, request.path)
        if nbytes is not None and isinstance(response, web.Response):
            return await send_truncated(request, response, nbytes)
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if request.method == "GET":
            if path == "/version":
                return _json(SERVER_VERSION)
            if path == "/api":
                return _json(api_versions(self._address, served=bool(self.index.in_group_version("", "v1"))))
            if path == "/apis":
                return _json(with_group_versions(api_group_list(self.index), self.unavailable))
        where = parse_resource_path(path)
        if where is None:
            raise no_such_resource()
        if where.plural is None:
            doc = api_resource_list(self.index, where.group, where.version)
            if doc is None or request.method != "GET":
                raise no_such_resource()
            return _json(doc)
        res = self.index.by_path(where.group, where.version, where.plural)
        if res is None or (where.namespace is not None and not res.namespaced):
            raise no_such_resource()
        if where.subresource is not None:
            return await self._subresource(request, res, where)
        if request.method == "GET":
            return self._get(request, res, where)
        if request.method == "DELETE" and where.name is not None:
            return await self._delete(request, res, where)
        raise ApiError(405, "the server does not allow this method on the requested resource")

    def _get(self, request: web.Request, res: ResourceDef, where: ResourcePath) -> web.Response:
        if where.name is None:
            if request.query.get("watch") in ("1", "true"):
                raise ApiError(400, "the sandbox API server does not serve watches")
            return _json_bytes(list_page(self.store, res, where.namespace, request.query))
        if self.store.get(res, where.namespace, where.name) is None:
            raise not_found(res.plural, where.name, res.group)
        key = _key(res, where)
        return _json_bytes(self.store.encoded(res, key))

    async def _subresource(
        self, request: web.Request, res: ResourceDef, where: ResourcePath
    ) -> web.StreamResponse:
        assert where.name is not None and where.subresource is not None
        handler = self._subresources.get((res.plural, where.subresource))
        if handler is not None:
            return await handler(request, res, where)
        if where.subresource == "status" and request.method == "GET":
            return self._get(request, res, where)
        raise no_such_resource()

    async def _delete(self, request: web.Request, res: ResourceDef, where: ResourcePath) -> web.Response:
        assert where.name is not None
        if "delete" not in res.verbs:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        gone = self.store.delete(res, where.namespace, where.name)
        if gone is None:
            raise not_found(res.plural, where.name, res.group)
        if res.kind != "Pod" or res.group:
            details = {"name": where.name, "kind": res.plural, "uid": gone["metadata"]["uid"]}
            if res.group:
                details["group"] = res.group
            return _json(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": details,
                }
            )
        # A pod is deleted gracefully, so the server answers with the Pod, now marked for deletion.
        mark_deleted(gone, await grace_period(request, gone))
        if self.on_pod_deleted is not None:
            try:
                outcome = self.on_pod_deleted(copy.deepcopy(gone))
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as err:
                raise ApiError(500, f"sandbox: pod deletion hook failed: {err}") from err
        return _json(gone)


def _key(res: ResourceDef, where: ResourcePath) -> str:
    assert where.name is not None
    return object_key(res, where.namespace, where.name)


def _json(doc: Any) -> web.Response:
    return _json_bytes(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())


def _json_bytes(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")
