"""ExportRecords and REGCLEAN_EXPORT_DIR: what an export and the waivers leave in the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from actions.exported import ExportedImage, ImageOutcome
from bot.config.settings import ConfigError, Settings
from bot.core.model import StepState
from bot.steps.export.location import ExportLocation, export_location
from bot.steps.export.records import ExportRecords
from bot.store.schema import AuditRow
from tests.unit.bot.steps.context import NOW, finished_step, step_context

INDEX = "application/vnd.oci.image.index.v1+json"


def exported(tag: str, digest: str = "sha256:" + "a" * 64) -> ImageOutcome:
    return ImageOutcome(tag, True, None, ExportedImage(tag, digest, INDEX, 2, 4, 1234))


def test_export_dir_is_a_local_directory_or_a_node_over_sftp() -> None:
    assert export_location(Settings.load({"REGCLEAN_DATA_DIR": "/var/lib/regclean"})) == ExportLocation(
        "/var/lib/regclean/exports"
    )
    node = export_location(Settings.load({"REGCLEAN_EXPORT_DIR": "sftp://10.0.0.11:2222/cpaas/exports"}))
    assert node == ExportLocation("/cpaas/exports", "10.0.0.11", 2222)
    assert node.of_run(7).describe() == "sftp://10.0.0.11:2222/cpaas/exports/run-7"
    assert export_location(Settings.load({"REGCLEAN_EXPORT_DIR": "/srv/x/"})).of_run(3).path == "/srv/x/run-3"


@pytest.mark.parametrize("value", ["exports", "sftp://10.0.0.11", "sftp://10.0.0.11/", "ftp://h/x"])
def test_an_export_dir_that_is_neither_is_refused_with_its_form(value: str) -> None:
    if value == "sftp://10.0.0.11/":  # the root of a node is a directory, if an odd one
        assert Settings.load({"REGCLEAN_EXPORT_DIR": value}).export_dir == value
        return
    with pytest.raises(ConfigError, match=r"REGCLEAN_EXPORT_DIR: .*sftp://<node address>/absolute/path"):
        Settings.load({"REGCLEAN_EXPORT_DIR": value})


def test_the_newest_export_of_each_tag_counts_and_a_failed_verification_is_its_problem(
    tmp_path: Path,
) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        records = ExportRecords(f.store.db)
        first = finished_step(f.store, run.id, "export", StepState.SUCCEEDED)
        broken = ImageOutcome("team/b:1", False, "blob sha256:beef changed on disk", None)
        records.save_export(
            run.id,
            first,
            "/x/run-1",
            [exported("team/a:1"), exported("team/b:1")],
            [exported("team/a:1"), broken],
        )
        images = records.custom_images(run.id)
        assert images.exports["team/a:1"].ok and images.exports["team/a:1"].bytes == 1234
        assert not images.exports["team/b:1"].ok
        assert images.exports["team/b:1"].problem == "blob sha256:beef changed on disk"

        f.clock.advance(timedelta(minutes=1))
        again = finished_step(f.store, run.id, "export", StepState.SUCCEEDED)
        records.save_export(
            run.id, again, "/x/run-1", [exported("team/b:1", "sha256:" + "b" * 64)], [exported("team/b:1")]
        )
        images = records.custom_images(run.id)
        assert images.exports["team/b:1"].ok and images.exports["team/b:1"].digest == "sha256:" + "b" * 64
        assert images.expected(("team/a:1", "team/b:1", "team/c:1")) == {
            "team/a:1": "sha256:" + "a" * 64,
            "team/b:1": "sha256:" + "b" * 64,
        }

        f.clock.advance(timedelta(minutes=1))
        after = records.save_verification(
            run.id, [exported("team/a:1"), ImageOutcome("team/b:1", False, "gone", None)]
        )
        assert after.exports["team/a:1"].verified_at == NOW + timedelta(minutes=2)
        assert not after.exports["team/b:1"].ok and after.exports["team/b:1"].problem == "gone"


def test_a_tag_is_waived_once_audited_and_the_first_approver_keeps_it(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        records = ExportRecords(f.store.db)
        new, known = records.waive(run.id, ["team/a:1", "team/a:1"], "UBOB")
        assert [w.tag for w in new] == ["team/a:1"] and known == []
        new, known = records.waive(run.id, ["team/a:1", "team/b:1"], "UCAROL")
        assert [w.tag for w in new] == ["team/b:1"]
        assert [(w.tag, w.approver) for w in known] == [("team/a:1", "UBOB")]
        assert {t: w.approver for t, w in records.custom_images(run.id).waivers.items()} == {
            "team/a:1": "UBOB",
            "team/b:1": "UCAROL",
        }
        with f.store.db.session() as s:
            audited = [
                (a.actor, a.detail["tag"]) for a in s.query(AuditRow).filter_by(action="custom_image.waived")
            ]
        assert audited == [("UBOB", "team/a:1"), ("UCAROL", "team/b:1")]
