"""The OCI layout's own rules: ref names, blobs written only when they are what they claim, and an
index.json that is not one refused with a sentence."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actions.errors import ExportError
from actions.export_store import LocalExportStore
from actions.oci import Descriptor
from actions.oci_layout import BlobProblem, IndexEntry, Layout, blob_path, valid_ref_name


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("retail/order-service:1.0", True),
        ("acp/core:v4.1.0-rc.1", True),
        ("a/b_c:x__y", False),  # two underscores: a repository may have them, a ref.name may not
        ("a---b:1", False),
        ("app:_x", False),
        ("app:x.", False),
        ("Registry.Example/Team+x:1@2", True),
        ("", False),
    ],
)
def test_ref_names_follow_the_annotation_grammar(name: str, valid: bool) -> None:
    assert valid_ref_name(name) is valid


def test_only_sha256_blobs_have_a_place() -> None:
    assert blob_path("sha256:" + "a" * 64) == "blobs/sha256/" + "a" * 64
    for digest in ("sha512:" + "a" * 128, "sha256:../../../etc/passwd", "sha256:" + "A" * 64):
        with pytest.raises(ExportError, match="is not a sha256 digest"):
            blob_path(digest)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def descriptor(data: bytes) -> Descriptor:
    return Descriptor("application/octet-stream", "sha256:" + hashlib.sha256(data).hexdigest(), len(data))


async def test_a_blob_is_renamed_into_place_only_when_digest_and_size_match(tmp_path: Path) -> None:
    store = LocalExportStore(tmp_path / "layout")
    await store.prepare()
    layout = Layout(store)
    good = descriptor(b"hello world")
    await layout.write_blob(good, chunks(b"hello ", b"world"))
    path = tmp_path / "layout" / blob_path(good.digest)
    assert path.read_bytes() == b"hello world" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert await layout.present(good)

    liar = descriptor(b"expected bytes")
    with pytest.raises(BlobProblem, match="hashes to sha256:"):
        await layout.write_blob(liar, chunks(b"expected byteZ"))
    with pytest.raises(BlobProblem, match="has 3 bytes, not 14"):
        await layout.write_blob(liar, chunks(b"exp"))
    with pytest.raises(BlobProblem, match="more than 14 bytes"):
        await layout.write_blob(liar, chunks(b"expected bytes", b"!"))
    assert sorted(p.name for p in (tmp_path / "layout" / "blobs" / "sha256").iterdir()) == [path.name]
    assert not await layout.present(liar)
    assert await layout.check_blob(liar) == f"blob {liar.digest} is missing from the export"


async def test_index_json_round_trips_and_a_broken_one_is_refused_with_the_fix(tmp_path: Path) -> None:
    store = LocalExportStore(tmp_path)
    await store.prepare()
    layout = Layout(store)
    assert await layout.read_index() == {}
    entries = [IndexEntry("b/x:1", "application/vnd.oci.image.manifest.v1+json", "sha256:" + "1" * 64, 10)]
    entries.append(
        IndexEntry("a/y:2", "application/vnd.docker.distribution.manifest.v2+json", "sha256:" + "2" * 64, 20)
    )
    await layout.write_index(entries)
    assert await layout.read_index() == {e.ref_name: e for e in entries}
    assert (tmp_path / "oci-layout").read_bytes() == b'{"imageLayoutVersion":"1.0.0"}'
    (tmp_path / "index.json").write_text('{"manifests": [{"digest": 3}]}')
    with pytest.raises(
        ExportError, match="is not an OCI image index: move it away, or point REGCLEAN_EXPORT_DIR"
    ):
        await layout.read_index()
