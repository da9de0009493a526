"""The `mc` stand-in, run as a program against moto's S3 server: output lines and errors as mc's."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from actions.mc import Tally
from sandbox.minio import install_mc
from sandbox.minio.messages import ibytes
from sandbox.registry import S3Server
from sandbox.registry.process import free_port

ACCESS_KEY = "minio-admin"
SECRET_KEY = "minio-secret-CANARY-31337"
LS_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\] *(\S+) STANDARD (.+)$")


@dataclass
class Mc:
    """The `mc` wrapper on a PATH of its own, with a HOME for its config."""

    bin_dir: Path
    home: Path

    async def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "HOME": str(self.home), "LC_ALL": "C"}
        return await asyncio.to_thread(
            subprocess.run, ["mc", *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    async def alias(self, url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> None:
        done = await self("--insecure", "alias", "set", "minio", url, access_key, secret_key)
        assert done.returncode == 0, done.stderr


@pytest.fixture
def s3(s3: S3Server) -> S3Server:
    """The process's S3 server (tests/conftest.py), with an empty bucket `registry`."""
    s3.create_bucket("registry")
    return s3


@pytest.fixture
async def own_s3(tmp_path: Path) -> AsyncIterator[S3Server]:
    """An S3 server of this test's own, with an empty bucket `registry`, for a test that stops it."""
    server = S3Server(tmp_path / "s3")
    await server.start()
    server.create_bucket("registry")
    yield server
    await server.stop()


@pytest.fixture
def mc(tmp_path: Path) -> Mc:
    install_mc(tmp_path / "bin", credentials=(ACCESS_KEY, SECRET_KEY))
    return Mc(tmp_path / "bin", tmp_path / "home")


def put_objects(s3: S3Server, objects: dict[str, bytes]) -> None:
    client = s3.client()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda kv: client.put_object(Bucket="registry", Key=kv[0], Body=kv[1]), objects.items()
                )
            )
    finally:
        client.close()


def blob_keys(count: int) -> dict[str, bytes]:
    return {f"docker/registry/v2/blobs/sha256/{i:02x}/{i:064x}/data": b"x" * (i * 37) for i in range(count)}


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0B"), (9, "9B"), (512, "512B"), (1023, "1023B"), (1024, "1.0KiB"), (1536, "1.5KiB"),
     (10 * 1024, "10KiB"), (1258291, "1.2MiB"), (3 * 2**30 + 2**29, "3.5GiB")],
)  # fmt: skip
def test_sizes_are_shown_as_go_humanize_shows_them(size: int, shown: str) -> None:
    assert ibytes(size) == shown


async def test_alias_set_stores_the_alias_and_says_so(s3: S3Server, mc: Mc) -> None:
    done = await mc("--insecure", "alias", "set", "minio", s3.url, ACCESS_KEY, SECRET_KEY)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Added `minio` successfully.\n", "")
    config = mc.home / ".mc" / "config.json"
    assert json.loads(config.read_text())["aliases"]["minio"]["url"] == s3.url
    assert config.stat().st_mode & 0o777 == 0o600


async def test_ls_prints_one_line_per_object_with_time_size_and_class(s3: S3Server, mc: Mc) -> None:
    await mc.alias(s3.url)
    empty = await mc("ls", "--recursive", "minio/registry/")
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, "", "")

    put_objects(s3, {"a/small": b"s" * 100, "a/b/mid": b"m" * 1536, "top": b"t" * 1258291})
    done = await mc("--insecure", "ls", "--recursive", "minio/registry/")
    assert done.returncode == 0, done.stderr
    rows = [LS_LINE.match(line) for line in done.stdout.splitlines()]
    assert all(rows), done.stdout
    assert [(m[2], m[3]) for m in rows if m] == [
        ("1.5KiB", "a/b/mid"),
        ("100B", "a/small"),
        ("1.2MiB", "top"),
    ]
    assert "] 1.5KiB STANDARD a/b/mid" in done.stdout, "sizes are right-aligned in 7 columns"

    under = await mc("ls", "-r", "minio/registry/a/")
    assert [line.rsplit(" ", 1)[-1] for line in under.stdout.splitlines()] == ["b/mid", "small"]


async def test_du_gives_the_size_and_count_and_exact_bytes_in_json(s3: S3Server, mc: Mc) -> None:
    await mc.alias(s3.url)
    objects = blob_keys(42)
    put_objects(s3, objects)
    total = sum(len(v) for v in objects.values())

    done = await mc("du", "minio/registry")
    assert (done.returncode, done.stdout) == (0, f"{ibytes(total)}\t42 objects\tregistry\n")
    exact = await mc("--json", "du", "minio/registry")
    assert json.loads(exact.stdout) == {
        "prefix": "registry",
        "size": total,
        "objects": 42,
        "status": "success",
        "isVersions": False,
    }


async def test_du_of_a_missing_bucket_fails_as_mc_does_with_its_error_indented_even_in_json(
    s3: S3Server, mc: Mc
) -> None:
    await mc.alias(s3.url)
    human = await mc("--insecure", "du", "minio/nosuch")
    assert (human.returncode, human.stdout) == (1, "")
    assert human.stderr == (
        "mc: <ERROR> Failed to find disk usage of `minio/nosuch` recursively. The specified bucket does not exist\n"
    ), "errorIf joins message and cause as they are"
    as_json = await mc("--insecure", "--json", "du", "minio/nosuch")
    assert as_json.returncode == 1
    assert len(as_json.stdout.splitlines()) > 5, (
        "mc prints errors with MarshalIndent, even without a terminal"
    )
    assert json.loads(as_json.stdout) == {
        "status": "error",
        "error": {
            "message": "Failed to find disk usage of `minio/nosuch` recursively.",
            "cause": {"message": "The specified bucket does not exist", "error": {}},
            "type": "error",
        },
    }


async def test_du_of_an_alias_alone_is_fatal_and_a_denied_listing_is_access_denied(
    s3: S3Server, mc: Mc
) -> None:
    from sandbox.minio.config import deny_listing

    await mc.alias(s3.url)
    alias_only = await mc("--json", "du", "minio")
    assert alias_only.returncode == 1
    error = json.loads(alias_only.stdout)["error"]
    assert error["type"] == "fatal"
    assert error["message"] == "Source `minio` is not a folder. Only folders are supported by 'du' command."
    put_objects(s3, {"a": b"1"})
    deny_listing(mc.home / ".mc")
    denied = await mc("--insecure", "--json", "du", "--versions", "minio/registry")
    assert denied.returncode == 1
    assert json.loads(denied.stdout)["error"]["cause"]["message"] == "Access Denied."
    listing = await mc("--insecure", "ls", "--recursive", "minio/registry/")
    assert (listing.returncode, "Access Denied." in listing.stderr) == (1, True), (
        "the policy holds for ls too"
    )
    deny_listing(mc.home / ".mc", False)
    allowed = await mc("--insecure", "--json", "du", "minio/registry")
    assert json.loads(allowed.stdout)["objects"] == 1


async def test_rm_recursive_force_removes_every_object_with_one_line_each(s3: S3Server, mc: Mc) -> None:
    await mc.alias(s3.url)
    objects = blob_keys(300)
    put_objects(s3, {**objects, "keep/elsewhere": b"k"})

    done = await mc("--insecure", "rm", "--recursive", "--force", "minio/registry/docker/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == sorted(f"Removed `minio/registry/{key}`." for key in objects)
    assert s3.object_count() == 1

    everything = await mc("--insecure", "rm", "--recursive", "--force", "minio/registry/")
    assert everything.stdout == "Removed `minio/registry/keep/elsewhere`.\n"
    assert s3.object_count() == 0
    again = await mc("--insecure", "rm", "--recursive", "--force", "minio/registry/")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", ""), (
        "an empty bucket is no error with --force"
    )


async def test_rm_refuses_a_recursive_removal_without_force(s3: S3Server, mc: Mc) -> None:
    await mc.alias(s3.url)
    put_objects(s3, {"x": b"1"})
    done = await mc("rm", "--recursive", "minio/registry/")
    assert done.returncode == 1
    assert done.stderr.startswith("mc: <ERROR> Removal requires --force flag.")
    whole_site = await mc("rm", "--recursive", "--force", "minio")
    assert "site-wide removal" in whole_site.stderr
    assert s3.object_count() == 1


async def test_a_missing_bucket_is_an_error_naming_it(s3: S3Server, mc: Mc) -> None:
    await mc.alias(s3.url)
    done = await mc("--insecure", "rm", "--recursive", "--force", "minio/nosuch/")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "mc: <ERROR> Failed to remove `minio/nosuch/` recursively. The specified bucket does not exist.\n"
    )
    as_json = await mc("--insecure", "--json", "rm", "--recursive", "--force", "minio/nosuch/")
    assert as_json.returncode == 1 and as_json.stdout.startswith("{\n ")
    tally = Tally()
    for line in as_json.stdout.splitlines():
        tally.line(1, line)
    assert tally.errors == [
        "mc: Failed to remove `minio/nosuch/` recursively. The specified bucket does not exist"
    ], "the purge reads mc's indented error whole"


async def test_wrong_keys_are_refused_as_minio_refuses_them_and_never_printed(s3: S3Server, mc: Mc) -> None:
    bad_secret = await mc("alias", "set", "minio", s3.url, ACCESS_KEY, "not-the-secret")
    assert bad_secret.returncode == 1
    assert "does not match the signature" in bad_secret.stderr
    unknown_key = await mc("alias", "set", "minio", s3.url, "intruder", SECRET_KEY)
    assert unknown_key.returncode == 1
    assert unknown_key.stderr == (
        "mc: <ERROR> Unable to initialize new alias from the provided credentials. "
        "The Access Key Id you provided does not exist in our records.\n"
    )
    assert not (mc.home / ".mc" / "config.json").exists()

    # A configured alias whose keys are no longer valid (MinIO's keys were changed).
    await mc.alias(s3.url)
    config = mc.home / ".mc" / "config.json"
    doc = json.loads(config.read_text())
    doc["aliases"]["minio"]["accessKey"] = "rotated-away"
    config.write_text(json.dumps(doc))
    put_objects(s3, {"x": b"1"})
    done = await mc("rm", "--recursive", "--force", "minio/registry/")
    assert done.returncode == 1
    assert "The Access Key Id you provided does not exist in our records." in done.stderr
    assert s3.object_count() == 1
    for out in (bad_secret, unknown_key, done):
        assert SECRET_KEY not in out.stdout + out.stderr
        assert "not-the-secret" not in out.stdout + out.stderr


async def test_an_unreachable_server_is_connection_refused(mc: Mc) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = await mc("--insecure", "alias", "set", "minio", url, ACCESS_KEY, SECRET_KEY)
    assert done.returncode == 1
    assert done.stderr.startswith("mc: <ERROR> Unable to initialize new alias from the provided credentials.")
    assert done.stderr.rstrip().endswith("connect: connection refused.")


async def test_a_configured_server_that_went_away_fails_the_removal(own_s3: S3Server, mc: Mc) -> None:
    await mc.alias(own_s3.url)
    await own_s3.stop()
    done = await mc("--insecure", "rm", "--recursive", "--force", "minio/registry/")
    assert done.returncode == 1
    assert re.fullmatch(
        r"mc: <ERROR> Failed to remove `minio/registry/` recursively\. Get \"http://127\.0\.0\.1:\d+/\": "
        r"dial tcp 127\.0\.0\.1:\d+: connect: connection refused\.\n",
        done.stderr,
    ), done.stderr


async def test_a_bad_url_or_an_unknown_command_is_a_usage_error(mc: Mc) -> None:
    bad_url = await mc("alias", "set", "minio", "minio:9000", ACCESS_KEY, SECRET_KEY)
    assert bad_url.returncode == 1
    assert bad_url.stderr.startswith("mc: <ERROR> Invalid URL. URL `minio:9000` for MinIO Client")
    unknown = await mc("frobnicate")
    assert unknown.returncode == 1
    assert "'frobnicate' is not a recognized command" in unknown.stderr
    flag = await mc("rm", "--shred", "minio/registry/")
    assert (flag.returncode, "flag provided but not defined: -shred" in flag.stderr) == (1, True)


def test_the_wrapper_is_an_executable_named_mc(mc: Mc) -> None:
    wrapper = mc.bin_dir / "mc"
    assert os.access(wrapper, os.X_OK)
    assert SECRET_KEY in wrapper.read_text(), (
        "the expected keys live in the wrapper, not the pod's environment"
    )


def all_versions(s3: S3Server) -> tuple[int, int, int]:
    """(versions, delete markers, bytes of every version) that the S3 server holds in `registry`."""
    client = s3.client()
    try:
        page = client.list_object_versions(Bucket="registry")
    finally:
        client.close()
    versions = page.get("Versions", [])
    return len(versions), len(page.get("DeleteMarkers", [])), sum(int(v["Size"]) for v in versions)


async def test_version_info_tells_whether_the_bucket_is_versioned(s3: S3Server, mc: Mc) -> None:
    await mc.alias(s3.url)
    before = await mc("--insecure", "version", "info", "minio/registry")
    assert (before.returncode, before.stdout) == (0, "minio/registry is un-versioned\n")
    enabled = await mc("--insecure", "version", "enable", "minio/registry")
    assert enabled.stdout == "minio/registry versioning is enabled\n"
    info = await mc("--insecure", "--json", "version", "info", "minio/registry")
    assert json.loads(info.stdout)["versioning"]["status"] == "Enabled"
    missing = await mc("--insecure", "version", "info", "minio/nothing")
    assert missing.returncode == 1
    assert missing.stderr.startswith("mc: <ERROR> Unable to get versioning info")


async def test_on_a_versioned_bucket_rm_only_makes_delete_markers_and_versions_removes_all(
    s3: S3Server, mc: Mc
) -> None:
    await mc.alias(s3.url)
    assert (await mc("--insecure", "version", "enable", "minio/registry")).returncode == 0
    objects = blob_keys(5)
    put_objects(s3, objects)
    put_objects(s3, {key: b"y" * 10 for key in list(objects)[:2]})  # two keys with an older version
    stored = sum(len(b) for b in objects.values()) + 20

    hidden = await mc("--insecure", "--json", "rm", "--recursive", "--force", "minio/registry/")
    lines = [json.loads(line) for line in hidden.stdout.splitlines()]
    assert len(lines) == 5 and all(doc["deleteMarker"] and doc["versionID"] for doc in lines)
    human = await mc("--insecure", "ls", "--recursive", "minio/registry/")
    assert human.stdout == "", "ls hides what delete markers cover"
    du = json.loads((await mc("--insecure", "--json", "du", "minio/registry")).stdout)
    assert (du["objects"], du["size"]) == (0, 0)
    assert all_versions(s3) == (7, 5, stored), "nothing was freed"
    du_all = json.loads((await mc("--insecure", "--json", "du", "--versions", "minio/registry")).stdout)
    assert (du_all["objects"], du_all["size"], du_all["isVersions"]) == (7, stored, True), (
        "every version counts, delete markers never (du-main.go: `!content.IsDeleteMarker`)"
    )
    listed = (
        await mc("--insecure", "ls", "--recursive", "--versions", "minio/registry/")
    ).stdout.splitlines()
    assert len(listed) == 12 and sum(" DEL " in line for line in listed) == 5
    assert sum(re.search(r" v3 DEL docker/", line) is not None for line in listed) == 2

    purged = await mc("--insecure", "--json", "rm", "--recursive", "--force", "--versions", "minio/registry/")
    assert purged.returncode == 0, purged.stderr
    docs = [json.loads(line) for line in purged.stdout.splitlines()]
    assert len(docs) == 12 and {doc["status"] for doc in docs} == {"success"}
    assert all_versions(s3) == (0, 0, 0)


async def test_older_releases_word_the_removal_differently_and_json_stays(s3: S3Server, mc: Mc) -> None:
    from sandbox.minio.config import set_release

    await mc.alias(s3.url)
    wording = {}
    for day, word in (("2022-06-26", "Removing"), ("2022-08-01", "Remove"), (None, "Removed")):
        set_release(mc.home / ".mc", day)
        put_objects(s3, {"a": b"1"})
        done = await mc("--insecure", "rm", "--recursive", "--force", "minio/registry/")
        wording[word] = done.stdout
        put_objects(s3, {"a": b"1"})
        as_json = await mc("--insecure", "--json", "rm", "--recursive", "--force", "minio/registry/")
        assert json.loads(as_json.stdout)["status"] == "success"
    assert wording == {
        "Removing": "Removing `minio/registry/a`.\n",
        "Remove": "Remove `minio/registry/a`.\n",
        "Removed": "Removed `minio/registry/a`.\n",
    }
