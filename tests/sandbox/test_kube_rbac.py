"""The sandbox API's authentication and RBAC, from the rules kustomize renders from deploy/."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox.kube import KubeApiServer
from sandbox.kube.rbac import Attributes, attributes, policy_from, rendered_deploy
from sandbox.stack import Sandbox
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import gates_hold

TOKEN = "sandbox-sa-token"


def test_request_attributes_are_derived_from_the_url_as_the_api_server_does() -> None:
    assert attributes("GET", "/api/v1/pods", {}) == [Attributes("list", "", "pods")]
    assert attributes("GET", "/api/v1/namespaces/kube-system/pods/minio-0", {}) == [
        Attributes("get", "", "pods", None, "kube-system", "minio-0")
    ]
    assert attributes("GET", "/api/v1/pods", {"watch": "true"})[0].verb == "watch"
    assert attributes("DELETE", "/api/v1/namespaces/kube-system/pods/r-1", {})[0].verb == "delete"
    exec_ = attributes("GET", "/api/v1/namespaces/kube-system/pods/minio-0/exec", {})
    assert [(a.verb, a.subresource) for a in exec_] == [("get", "exec"), ("create", "exec")]
    assert attributes("GET", "/apis", {}) == [Attributes("get", non_resource_url="/apis")]


def test_the_deployed_rules_allow_what_the_runbook_does_and_name_what_they_refuse() -> None:
    policy = policy_from(rendered_deploy(), TOKEN)
    assert policy.user == "system:serviceaccount:regclean:regclean"
    allowed = [
        Attributes("list", "app.alauda.io", "modulepluginviews"),
        Attributes("list", "", "pods"),
        Attributes("get", "", "pods", "exec", "kube-system", "minio-0"),
        Attributes("create", "", "pods", "exec", "kube-system", "minio-0"),
        Attributes("delete", "", "pods", None, "kube-system", "registry-1"),
        Attributes("get", non_resource_url="/apis/app.alauda.io/v1alpha1"),
    ]
    assert all(policy.allowed(a) for a in allowed)
    refused = Attributes("delete", "", "pods", None, "default", "web-1")
    assert not policy.allowed(refused), "delete only in the registry's namespace"
    assert not policy.allowed(Attributes("create", "", "pods", "exec", "default", "web-1"))
    assert not policy.allowed(Attributes("list", "", "secrets"))
    assert refused.denial(policy.user) == (
        'User "system:serviceaccount:regclean:regclean" cannot delete resource "pods" in API group "" '
        'in the namespace "default"'
    )


async def test_without_the_token_401_and_outside_the_rules_403() -> None:
    server = KubeApiServer()
    server.enforce(policy_from(rendered_deploy(), TOKEN))
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/v1/pods") as anonymous:
                assert anonymous.status == 401
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with http.get(f"{server.url}/api/v1/pods", headers=headers) as listed:
                assert listed.status == 200
            async with http.get(f"{server.url}/api/v1/namespaces/default/secrets", headers=headers) as secret:
                assert secret.status == 403
                assert (await secret.json())["reason"] == "Forbidden"
    finally:
        await server.stop()


@pytest.fixture
def without_exec(sandbox: Sandbox) -> Sandbox:
    """The sandbox whose deploy/ rules lack `create` on pods/exec (as a cluster older RBAC left)."""
    policy = sandbox.kube.policy
    assert policy is not None
    sandbox.kube.enforce(policy.without(lambda rule: "pods/exec" in rule.resources))
    return sandbox


async def test_a_needed_rule_removed_refuses_the_purge_before_anything_is_deleted(
    without_exec: Sandbox,
) -> None:
    from sandbox.stack import running_bot

    box, ws = without_exec, without_exec.slack
    objects = box.s3.object_count()
    async with running_bot(box, "http") as bot:
        await gates_hold(bot, box)
        await bot.driver.slash("UALICE", "purge")
        refusal = await ws.wait_for(
            lambda w: next((e for e in w.ephemerals if "The purge" in e.text or "403" in e.text), None),
            timeout=30,
        )
    assert 'cannot get resource "pods/exec"' in refusal.text, refusal.text
    assert box.s3.object_count() == objects and not [
        m for m in ws.messages if "Purge request #" in text_of(m)
    ]
