"""The registry seed keeps what each image's push left in the bucket, so that later sandboxes
compose their bucket from the images they need, in this process and, through a directory, in the
suite's other processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.registry.seed import split_by_image
from sandbox.registry.seed_cache import SEED_CACHE, Pushed, keep_pushes, kept_pushes

OLD, NEW = "acp/archon:v4.1.0", "acp/archon:v4.2.5"
DIGESTS = {
    OLD: ("sha256:aa01", "sha256:aa02", "sha256:aa03"),
    NEW: ("sha256:bb01", "sha256:bb02", "sha256:bb03"),
}


def key(path: str) -> str:
    return f"docker/registry/v2/{path}"


def test_each_object_goes_to_the_image_whose_blob_link_or_tag_it_is() -> None:
    objects = {
        key("blobs/sha256/aa/aa01/data"): b"old layer",
        key("blobs/sha256/bb/bb02/data"): b"new config",
        key("repositories/acp/archon/_layers/sha256/aa01/link"): b"sha256:aa01",
        key("repositories/acp/archon/_manifests/revisions/sha256/bb03/link"): b"sha256:bb03",
        key("repositories/acp/archon/_manifests/tags/v4.2.5/current/link"): b"sha256:bb03",
        key("repositories/acp/archon/_manifests/tags/v4.2.5/index/sha256/bb03/link"): b"sha256:bb03",
    }
    owned = split_by_image(objects, DIGESTS)
    assert sorted(owned[OLD]) == [
        key("blobs/sha256/aa/aa01/data"),
        key("repositories/acp/archon/_layers/sha256/aa01/link"),
    ]
    assert len(owned[NEW]) == 4 and set(owned[OLD]) | set(owned[NEW]) == set(objects)


@pytest.mark.parametrize(
    "path",
    [
        "repositories/acp/archon/_uploads/0f3c/data",
        "repositories/acp/other/_layers/sha256/aa01/link",
        "repositories/acp/archon/_manifests/tags/v9/current/link",
        "blobs/sha256/cc/cc01/data",
    ],
)
def test_an_object_no_image_owns_is_refused_rather_than_dropped(path: str) -> None:
    with pytest.raises(RuntimeError, match="no seeded image owns"):
        split_by_image({key(path): b""}, DIGESTS)


def test_a_push_kept_for_other_processes_reads_back_the_same_and_only_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEED_CACHE, str(tmp_path))
    index = "retail/report-builder:2.0.0-rc1"
    pushed = {
        OLD: Pushed({key("blobs/sha256/aa/aa01/data"): b"\x00\xffbinary"}, DIGESTS[OLD]),
        index: Pushed({key("repositories/retail/report-builder/_manifests/tags/2.0.0-rc1/current/link"): b"x"},
                      ("sha256:cc01", "sha256:cc02"), ("sha256:cc01",)),
    }  # fmt: skip
    assert kept_pushes([OLD, index, NEW]) == {}, "nothing kept yet"
    keep_pushes(pushed)
    assert kept_pushes([OLD, index, NEW]) == pushed, "the same objects and digests; NEW was never pushed"
    assert not list(tmp_path.glob("*.partial")), "each file is written whole, then renamed"
    monkeypatch.delenv(SEED_CACHE)
    assert kept_pushes([OLD]) == {}, "without the directory, every process pushes its own"
