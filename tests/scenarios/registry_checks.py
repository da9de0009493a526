"""Looking at the sandbox without regclean: skopeo lists the registry's tags and downloads its
images, the images' own layouts (sandbox/installer/layouts.py) say what was pushed and which bucket
objects are whose, and the channel says what people were told."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from sandbox.installer.layouts import layout_files
from sandbox.registry import skopeo
from sandbox.slack import SlackWorkspace
from sandbox.stack import Sandbox
from tests.scenarios.conftest import text_of

SKOPEO_PARALLEL = 6


async def tags_after(box: Sandbox, repositories: set[str]) -> set[str]:
    """`repo:tag` of every tag `skopeo list-tags` finds in these repositories."""
    creds = f"{box.registry.username}:{box.registry.password}"

    async def listed(repo: str) -> list[str]:
        out = await skopeo(
            "list-tags", "--tls-verify=false", "--creds", creds, f"docker://{box.registry.address}/{repo}"
        )
        return [f"{repo}:{tag}" for tag in json.loads(out)["Tags"]]

    return {ref for refs in await asyncio.gather(*(listed(r) for r in sorted(repositories))) for ref in refs}


async def pull_in_full(box: Sandbox, references: list[str], into: Path) -> dict[str, str]:
    """`skopeo copy --all` each image into a `dir:` (skopeo checks every blob's digest as it
    downloads; an index with every platform); returns each image's top manifest digest as downloaded."""
    limit = asyncio.Semaphore(SKOPEO_PARALLEL)
    creds = f"{box.registry.username}:{box.registry.password}"
    into.mkdir(parents=True)

    async def one(reference: str) -> tuple[str, str]:
        target = into / reference.replace("/", "_").replace(":", "_")
        async with limit:
            await skopeo(
                "copy", "--all", "--src-tls-verify=false", "--src-creds", creds,
                f"docker://{box.registry.address}/{reference}", f"dir:{target}",
            )  # fmt: skip
        manifest = (target / "manifest.json").read_bytes()
        return reference, "sha256:" + hashlib.sha256(manifest).hexdigest()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(ref)) for ref in references]
    return dict(task.result() for task in tasks)


def pushed_digest(reference: str) -> str:
    """The manifest digest of the image as the installer and the team's export hold it."""
    return str(json.loads(layout_files(reference)["index.json"])["manifests"][0]["digest"])


def of_image(key: str, reference: str) -> bool:
    """Whether a bucket object is the image's: a blob or link of one of its digests, or its tag."""
    repo, _, tag = reference.rpartition(":")
    digests = [rel.rpartition("/")[2] for rel in layout_files(reference) if rel.startswith("blobs/")]
    return f"/repositories/{repo}/_manifests/tags/{tag}/" in key or any(f"/{d}/" in key for d in digests)


def posted(ws: SlackWorkspace, needle: str) -> str | None:
    """The text of the newest message in the channel that contains `needle`."""
    found = [text_of(m) for m in ws.messages if needle in text_of(m)]
    return found[-1] if found else None
