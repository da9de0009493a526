"""The shell scripts a backup runs on a node (bash, GNU tar, coreutils; openssl if present).

Each is sent on stdin to `bash -s -- ARGS…` and prints tagged lines on stdout, which
`actions.backup` parses. Nothing in them decides whether a backup is good: they measure, and
the Python side judges.
"""

from __future__ import annotations

#: args: MINIO_DIR BACKUP_DIR ARCHIVE_NAME (empty: leave partial files alone)
#: prints: ERROR <code> | CENSUS <entries> <file bytes> <files> <file data blocks in bytes> / FREE <bytes>
CENSUS = r"""
set -u
export LC_ALL=C
minio=$1 backup=$2 name=$3
[ -d "$minio" ] || { echo "ERROR no_minio_dir"; exit 3; }
real_minio=$(realpath -- "$minio") && real_backup=$(realpath -m -- "$backup") || { echo "ERROR realpath"; exit 3; }
case "$real_backup/" in "$real_minio/"*) echo "ERROR backup_inside_minio"; exit 3;; esac
mkdir -p -- "$backup" || { echo "ERROR backup_dir"; exit 3; }
# an interrupted earlier backup leaves a hidden partial file: it never looked complete; now it goes
[ -z "$name" ] || rm -f -- "$backup/.$name.partial-"*
find "$minio" -printf '%y %s\n' | awk '
  { n++; if ($1 == "f") { b += $2; f++; d += int(($2 + 511) / 512) * 512 } }
  END { printf "CENSUS %.0f %.0f %.0f %.0f\n", n, b, f, d }'
echo "FREE $(df -P -B1 -- "$backup" | awk 'NR == 2 { print $4 }')"
"""

#: args: MINIO_DIR PARTIAL_PATH CHECKPOINT_RECORDS BLOCKING_FACTOR
#: stderr: "tar: REGCLEAN-PROGRESS <records>" every CHECKPOINT_RECORDS records of BLOCKING_FACTOR × 512 bytes
#: stdout: the sha256 line, PIPE <tar> <reader> <digest>, LISTED <entries> <file bytes> <data bytes>
#:         <long-name bytes>, LISTPIPE <status>, SIZE <archive bytes>
ARCHIVE = r"""
set -u
export LC_ALL=C
minio=$1 partial=$2 checkpoint=$3 blocking=$4
if command -v openssl >/dev/null 2>&1; then digest() { openssl dgst -sha256 -r; }; else digest() { sha256sum; }; fi
# tar writes the archive itself, exactly as the runbook's command does. Meanwhile the digest
# follows the growing file: each `cat` reads from the shared descriptor's offset to the
# current end, and a last one after tar has exited reads the rest. Hashing thus runs on the
# other core beside the archiving, instead of after it.
: > "$partial" && exec 3< "$partial" || { echo "PIPE 2 0 0"; exit 0; }
tar --create --file="$partial" --blocking-factor="$blocking" --checkpoint="$checkpoint" \
  --checkpoint-action=echo="REGCLEAN-PROGRESS %u" -- "$minio" &
tar_pid=$!
follow() {
  while kill -0 "$tar_pid" 2>/dev/null; do cat <&3 || return; sleep 0.02; done
  cat <&3
}
follow | digest
reader=${PIPESTATUS[0]} hashed=${PIPESTATUS[1]}
wait "$tar_pid"
status=("$?" "$reader" "$hashed")
exec 3<&-
echo "PIPE ${status[0]} ${status[1]} ${status[2]}"
# A failed or inconsistent archive is not worth reading back.
[ "${status[*]}" = "0 0 0" ] || exit 0
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
