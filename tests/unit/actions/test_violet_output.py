"""Reading what `violet show --all` and `violet verify` print (the documented formats)."""

from __future__ import annotations

from actions.violet_output import Shown, Verification, parse_show, parse_verify, show_error

DOCUMENTED_SHOW = """Name: NativeStor
Type: bundle
Arch: []
Version: 2.3.0
Artifact: harbor.demo.io/acp/topolvm-operator-bundle:v3.11.0
RelateImages: [harbor.demo.io/acp/topolvm-operator:v3.11.0 harbor.demo.io/acp/topolvm:v3.11.0 harbor.demo.io/3rdparty/k8scsi/csi-provisioner:v3.00 ...]
"""

DOCUMENTED_VERIFY = """verify path: /path/to/packages
====== Verification Summary ======
Verified successfully with GPG: 2 file(s)
  - /path/to/packages/redis-operator.tgz
  - /path/to/packages/mysql-operator.tgz

Verified successfully with checksum: 1 file(s)
  - /path/to/packages/nginx-controller.tgz

Verification failed: 1 file(s)
  - /path/to/packages/etcd-operator.tgz

No verification file found: 1 file(s)
  - /path/to/packages/demo-plugin.tgz
"""


def test_the_documented_show_output_is_read_field_by_field() -> None:
    shown = parse_show("topolvm-operator.v2.3.0.tgz", DOCUMENTED_SHOW)
    assert shown == Shown(
        "topolvm-operator.v2.3.0.tgz",
        "NativeStor",
        "bundle",
        "2.3.0",
        "harbor.demo.io/acp/topolvm-operator-bundle:v3.11.0",
        (
            "harbor.demo.io/acp/topolvm-operator:v3.11.0",
            "harbor.demo.io/acp/topolvm:v3.11.0",
            "harbor.demo.io/3rdparty/k8scsi/csi-provisioner:v3.00",
        ),
    )
    assert shown.images[0] == shown.artifact and len(shown.images) == 4


def test_show_without_all_and_with_odd_spacing_still_reads() -> None:
    shown = parse_show(
        "x.tgz", "  name:   Some Thing\nTYPE: moduleplugin\nArch: [linux/amd64]\nVersion:v1\nnoise\n"
    )
    assert (shown.name, shown.type, shown.version, shown.artifact, shown.relate_images) == (
        "Some Thing",
        "moduleplugin",
        "v1",
        "",
        (),
    )
    assert shown.images == ()


def test_a_show_error_keeps_violets_error_line() -> None:
    text = "some log line\nError: invalid package x.tgz: gzip: invalid header\n"
    assert show_error("x.tgz", text, 1) == Shown(
        "x.tgz", error="Error: invalid package x.tgz: gzip: invalid header"
    )
    assert show_error("y.tgz", "", 139).error == "violet show exited with status 139"


def test_the_documented_verify_summary_is_read_as_file_names() -> None:
    assert parse_verify(DOCUMENTED_VERIFY, 1) == Verification(
        gpg=("redis-operator.tgz", "mysql-operator.tgz"),
        checksum=("nginx-controller.tgz",),
        failed=("etcd-operator.tgz",),
        missing=("demo-plugin.tgz",),
    )


def test_a_summary_with_sections_left_out_is_read_too() -> None:
    text = "====== Verification Summary ======\nNo verification file found: 1 file(s)\n  - /p/a.tgz\n"
    assert parse_verify(text, 0) == Verification(missing=("a.tgz",))


def test_no_summary_is_an_error_not_an_all_clear() -> None:
    failed = parse_verify("Error: stat /nowhere: no such file or directory\n", 1)
    assert failed.error == "Error: stat /nowhere: no such file or directory"
    assert parse_verify("", 0).error == "violet verify printed no summary (exit status 0)"
