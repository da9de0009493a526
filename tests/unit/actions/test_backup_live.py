"""Reading GNU tar's change warnings and sorting MinIO's paths into object data and bookkeeping."""

from __future__ import annotations

import re
import subprocess

import pytest

from actions.backup_checks import Listing, Measured, Split, check_live, check_matches, parse_archive
from actions.backup_live import BOOKKEEPING, Change, ObjectsChanged, judge, kind, parse_change
from actions.errors import BackupInconsistent, BackupNotVerified

MINIO = "/cpaas/minio"
BLOB = "registry/docker/registry/v2/blobs/sha256/ab/abcd/data"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".minio.sys/buckets/.usage.json/xl.meta", "bookkeeping"),
        (".minio.sys/buckets/.usage.json", "bookkeeping"),
        (".minio.sys/buckets/.bloomcycle.bin/xl.meta", "bookkeeping"),
        (".minio.sys/buckets/.usage-cache.bin.bkp/xl.meta", "bookkeeping"),
        (".minio.sys/buckets/registry/.usage-cache.bin/0-1/part.1", "bookkeeping"),
        (".minio.sys/buckets/.tracker.bin/xl.meta", "bookkeeping"),
        (".minio.sys/tmp/.trash/1234/xl.meta", "excluded"),
        (".minio.sys/tmp", "excluded"),
        (".minio.sys/tmp-old/5678", "excluded"),
        (".minio.sys/buckets", "holder"),
        (".minio.sys/buckets/registry", "holder"),
        (".minio.sys/buckets/registry/.metadata.bin/xl.meta", "object"),
        (".minio.sys/config/config.json/xl.meta", "object"),
        (".minio.sys/format.json", "object"),
        (".minio.sys/multipart/abc/def", "object"),
        (".minio.sys/tmpx", "object"),
        (f"{BLOB}/xl.meta", "object"),
        ("registry/.usage-cache.bin/xl.meta", "object"),  # a bucket's object may have any name
        ("", "object"),
    ],
)
def test_each_path_of_a_minio_drive_is_sorted_as_minio_uses_it(path: str, expected: str) -> None:
    assert kind(path) == expected


def test_awk_reads_the_bookkeeping_pattern_as_python_does() -> None:
    paths = [".minio.sys/buckets/.usage.json/xl.meta", ".minio.sys/buckets/registry/.metadata.bin/xl.meta",
             ".minio.sys/buckets/registry/.usage-cache.bin", f"{BLOB}/xl.meta", ".minio.sys/buckets/xusage.json"]  # fmt: skip
    awk = subprocess.run(
        ["awk", "-v", f"bk={BOOKKEEPING}", "$0 ~ bk"],
        input="\n".join(paths) + "\n",
        capture_output=True,
        text=True,
    )
    assert awk.stderr == ""
    assert awk.stdout.splitlines() == [p for p in paths if re.search(BOOKKEEPING, p)]
    assert len(awk.stdout.splitlines()) == 2


@pytest.mark.parametrize(
    ("line", "change"),
    [
        (f"tar: {MINIO}/.minio.sys/buckets/.usage.json: file changed as we read it", (".minio.sys/buckets/.usage.json", "changed while read")),
        (f"tar: {MINIO}/{BLOB}/xl.meta: File removed before we read it", (f"{BLOB}/xl.meta", "removed before read")),
        (f"tar: {MINIO}/{BLOB}/1/part.1: File shrank by 512 bytes; padding with zeros", (f"{BLOB}/1/part.1", "shrank")),
        (f"tar: {MINIO}/a\\:b: File shrank by 1 byte; padding with zeros", ("a:b", "shrank")),
        (f"tar: {MINIO}: file changed as we read it", ("", "changed while read")),
        (f"tar: {MINIO}/dir/: file changed as we read it", ("dir", "changed while read")),
    ],
)  # fmt: skip
def test_gnu_tar_change_warnings_name_the_path_under_the_minio_directory(
    line: str, change: tuple[str, str]
) -> None:
    assert parse_change(line, MINIO + "/") == Change(*change)


@pytest.mark.parametrize(
    "line",
    [
        "tar: Removing leading `/' from member names",
        "tar: REGCLEAN-PROGRESS 12",
        "tar: x: Cannot open: Permission denied",
    ],
)
def test_other_tar_lines_are_no_change(line: str) -> None:
    assert parse_change(line, MINIO) is None


def test_bookkeeping_changes_are_tolerated_with_a_reason_and_object_changes_are_not() -> None:
    cache = Change(".minio.sys/buckets/.usage.json/xl.meta", "changed while read")
    holder = Change(".minio.sys/buckets", "changed while read")
    blob = Change(f"{BLOB}/xl.meta", "changed while read")
    calm = judge((cache, holder), ())
    assert calm.objects == () and len(calm.tolerated) == 2
    assert "scanner" in calm.tolerated[0] and "no object entry" in calm.tolerated[1]
    busy = judge((cache, holder, blob), ("registry/new/xl.meta (differs after the archive)",))
    assert busy.objects == (
        "registry/new/xl.meta (differs after the archive)",
        ".minio.sys/buckets (changed while read)",
        f"{BLOB}/xl.meta (changed while read)",
    )
    assert len(busy.tolerated) == 1, "a holder is tolerated only when no object entry moved"  # fmt: skip


def measured(stdout: str) -> Measured:
    census = "CENSUS 5 100 3 1024\nOBJECTS 3 60\nBOOKKEEPING 2 40\nFREE 100000000\n"
    return parse_archive(stdout + "\nTAR 1\nDIGEST 0\nLISTPIPE 0\nLISTED 5 100 1024 0\nSIZE 65536\n", census)


def test_an_archive_whose_objects_moved_is_refused_naming_them_and_counting_the_rest() -> None:
    moved = "".join(f"MOVEDPATH {BLOB}{i}/xl.meta\n" for i in range(20))
    m = measured(f"LISTOBJ 3 60\nMOVED 25\n{moved}")
    with pytest.raises(ObjectsChanged) as raised:
        check_live(m, (), ())
    assert f"{BLOB}0/xl.meta" in str(raised.value) and "and 20 more" in str(raised.value)
    assert len(raised.value.objects) == 20


def test_tar_exit_1_without_a_named_change_is_not_trusted() -> None:
    m = measured("LISTOBJ 3 60\nMOVED 0\n")
    with pytest.raises(BackupInconsistent, match="without naming what changed: tar: something odd"):
        check_live(m, (), ("tar: something odd",))


def test_object_data_must_match_exactly_and_bookkeeping_may_differ() -> None:
    base = Measured("0" * 64, 1, 0, Listing(9, 200, 1024, 0), 0, 65536)
    same = Measured(
        **{
            **base.__dict__,
            "objects": Split(5, 100),
            "listed_objects": Split(5, 100),
            "bookkeeping": Split(4, 10),
        }
    )
    check_matches(same)  # the whole listing (9 entries, 200 bytes) differs from objects + bookkeeping: fine
    short = Measured(**{**same.__dict__, "listed_objects": Split(5, 99)})
    with pytest.raises(BackupNotVerified, match="5 object entries and 99 bytes"):
        check_matches(short)  # fmt: skip
