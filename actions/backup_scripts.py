"""The shell scripts a backup runs on a node (bash, GNU tar, coreutils; openssl if present).

Each is sent on stdin to `bash -s -- ARGS…` and prints tagged lines on stdout, which
`actions.backup` parses. Nothing in them decides whether a backup is good: they measure, and
the Python side judges.
"""

from __future__ import annotations

#: a bash function printing `CENSUS <entries> <file bytes> <files> <file data blocks in bytes>` of $minio
_CENSUS_FUNCTION = r"""
census() {
  find "$minio" -printf '%y %s\n' | awk '
    { n++; if ($1 == "f") { b += $2; f++; d += int(($2 + 511) / 512) * 512 } }
    END { printf "CENSUS %.0f %.0f %.0f %.0f\n", n, b, f, d }'
}
"""

#: args: MINIO_DIR BACKUP_DIR ARCHIVE_NAME
#: prints: ERROR <code> | CENSUS <entries> <file bytes> <files> <file data blocks in bytes> / FREE <bytes>
CENSUS = (
    _CENSUS_FUNCTION
    + r"""
set -u
export LC_ALL=C
minio=$1 backup=$2 name=$3
[ -d "$minio" ] || { echo "ERROR no_minio_dir"; exit 3; }
real_minio=$(realpath -- "$minio") && real_backup=$(realpath -m -- "$backup") || { echo "ERROR realpath"; exit 3; }
case "$real_backup/" in "$real_minio/"*) echo "ERROR backup_inside_minio"; exit 3;; esac
mkdir -p -- "$backup" || { echo "ERROR backup_dir"; exit 3; }
# an interrupted earlier backup leaves a hidden partial file: it never looked complete; now it goes
rm -f -- "$backup/.$name.partial-"*
census
echo "FREE $(df -P -B1 -- "$backup" | awk 'NR == 2 { print $4 }')"
"""
)

#: args: MINIO_DIR PARTIAL_PATH CHECKPOINT_RECORDS BLOCKING_FACTOR
#: stderr: "tar: REGCLEAN-PROGRESS <records>" every CHECKPOINT_RECORDS records of BLOCKING_FACTOR × 512 bytes
#: stdout: TAR <status>, the sha256 line, DIGEST <status>, LISTED <entries> <file bytes> <data bytes>
#:         <long-name bytes>, LISTPIPE <status>, SIZE <archive bytes>
ARCHIVE = r"""
set -u
export LC_ALL=C
minio=$1 partial=$2 checkpoint=$3 blocking=$4
if command -v openssl >/dev/null 2>&1; then digest() { openssl dgst -sha256 -r -- "$1"; }; else digest() { sha256sum -- "$1"; }; fi
# tar writes the archive itself, as the runbook's command does. Hashing the finished file
# from the page cache afterwards measured faster and steadier here than hashing through
# pipes while tar writes.
tar --create --file="$partial" --blocking-factor="$blocking" --checkpoint="$checkpoint" \
  --checkpoint-action=echo="REGCLEAN-PROGRESS %u" -- "$minio"
echo "TAR $?"
[ -f "$partial" ] || exit 0
# The digest (CPU-bound) runs beside the read-back listing (seeks), both over the page cache.
exec {digested}< <(digest "$partial"; echo "DIGEST $?")
# What the archive holds, read back from it (GNU tar seeks over the data of a regular file).
tar --list --verbose --file="$partial" | awk '
  {
    n++
    if (substr($1, 1, 1) == "-") { b += $3; d += int(($3 + 511) / 512) * 512 }
    name = $0
    for (i = 0; i < 5; i++) sub(/^[^ ]+ +/, "", name)
    if (length(name) >= 100) l += 512 + int((length(name) + 1 + 511) / 512) * 512
  }
  END { printf "LISTED %.0f %.0f %.0f %.0f\n", n, b, d, l }'
echo "LISTPIPE ${PIPESTATUS[0]}"
cat <&"$digested"
echo "SIZE $(stat -c %s -- "$partial")"
"""

#: args: PARTIAL_PATH FINAL_PATH SHA256 — only after the archive was verified
KEEP = r"""
set -eu
partial=$1 final=$2 sha=$3
mv -f -- "$partial" "$final"
printf '%s  %s\n' "$sha" "${final##*/}" > "$final.sha256"
echo KEPT
"""

#: args: PARTIAL_PATH — a failed archive must not stay behind
DISCARD = r"""
rm -f -- "$1"
echo DISCARDED
"""
