"""The shell scripts a backup runs on a node (bash, GNU tar, coreutils, findutils; openssl if present).

Each is sent on stdin to `bash -s -- ARGS…` and prints tagged lines on stdout, which
`actions.backup` parses. Nothing in them decides whether a backup is good: they measure, and
the Python side judges (`actions.backup_checks`, `actions.backup_live`).
"""

from __future__ import annotations

#: bash functions over $minio: `walk` prints `TYPE SIZE INODE CTIME RELATIVE-PATH` of every entry
#: below it except the excluded paths (glob characters in $minio escaped for find's -path);
#: `manifest FILE` writes the object manifest of a walk on stdin to FILE: every entry outside the
#: bookkeeping, with its size, inode and ctime (directories by name only: their ctime moves when
#: MinIO replaces a cache file in them), and prints `OBJECTS <entries> <bytes>` and
#: `BOOKKEEPING <entries> <bytes>` (entries count the top directory as object data).
_WALK_FUNCTIONS = r"""
walk() {
  local esc prune=()
  esc=$(printf '%s' "$minio" | sed 's/[][*?\\]/\\&/g')
  for x in "${excluded[@]}"; do prune+=(-o -path "$esc/$x"); done
  find "$minio" -mindepth 1 \( -false "${prune[@]}" \) -prune -o -printf '%y %s %i %C@ %P\n' 2>/dev/null
}
manifest() {
  awk -v bk="$bookkeeping" -v out="$1" '
    BEGIN { printf "" > out }
    {
      rel = $0
      for (i = 0; i < 4; i++) sub(/^[^ ]+ +/, "", rel)
      if (rel ~ bk) { bn++; if ($1 == "f") bb += $2; next }
      on++
      if ($1 == "f") { ob += $2; print rel "\t" $1 " " $2 " " $3 " " $4 > out }
      else print rel "\t" $1 > out
    }
    END { close(out); printf "OBJECTS %.0f %.0f\nBOOKKEEPING %.0f %.0f\n", on + 1, ob, bn, bb }'
}
"""

#: args: MINIO_DIR BACKUP_DIR ARCHIVE_NAME PARTIAL_PATH BOOKKEEPING_ERE EXCLUDED…
#: prints: ERROR <code> | CENSUS <entries> <file bytes> <files> <file data blocks in bytes>, OBJECTS,
#:         BOOKKEEPING (see manifest) / FREE <bytes>; leaves the object manifest in PARTIAL_PATH.before
CENSUS = (
    _WALK_FUNCTIONS
    + r"""
set -u
export LC_ALL=C
umask 077  # the archive, its manifests and a backup directory made here: readable by root only
minio=${1%/} backup=$2 name=$3 partial=$4 bookkeeping=$5
excluded=("${@:6}")
[ -d "$minio" ] || { echo "ERROR no_minio_dir"; exit 3; }
real_minio=$(realpath -- "$minio") && real_backup=$(realpath -m -- "$backup") || { echo "ERROR realpath"; exit 3; }
case "$real_backup/" in "$real_minio/"*) echo "ERROR backup_inside_minio"; exit 3;; esac
mkdir -p -- "$backup" || { echo "ERROR backup_dir"; exit 3; }
# an interrupted earlier backup leaves hidden partial files: they never looked complete; now they go
rm -f -- "$backup/.$name.partial-"*
# One walk serves the space check and the object manifest that the archive is compared with.
walk > "$partial.walk"
awk '
  { n++; if ($1 == "f") { b += $2; f++; d += int(($2 + 511) / 512) * 512 } }
  END { printf "CENSUS %.0f %.0f %.0f %.0f\n", n + 1, b, f, d }' "$partial.walk"
manifest "$partial.before" < "$partial.walk"
rm -f -- "$partial.walk"
echo "FREE $(df -P -B1 -- "$backup" | awk 'NR == 2 { print $4 }')"
"""
)

#: args: MINIO_DIR PARTIAL_PATH CHECKPOINT_RECORDS BLOCKING_FACTOR BOOKKEEPING_ERE EXCLUDED…
#: needs: PARTIAL_PATH.before, the object manifest the census left
#: stderr: "tar: REGCLEAN-PROGRESS <records>" every CHECKPOINT_RECORDS records of BLOCKING_FACTOR × 512 bytes,
#:         and GNU tar's own warnings ("PATH: file changed as we read it", …)
#: stdout: TAR <status>, LISTED <entries> <file bytes> <data bytes> <long-name bytes>, LISTOBJ <entries>
#:         <bytes> (the object data the archive holds), LISTPIPE <status>, MOVED <count> and up to 20
#:         MOVEDPATH <path> (object entries that differ after tar from the census), the sha256 line,
#:         DIGEST <status>, SIZE <archive bytes>
ARCHIVE = (
    _WALK_FUNCTIONS
    + r"""
set -u
export LC_ALL=C
umask 077  # the archive, its manifests and a backup directory made here: readable by root only
minio=${1%/} partial=$2 checkpoint=$3 blocking=$4 bookkeeping=$5
excluded=("${@:6}")
if command -v openssl >/dev/null 2>&1; then digest() { openssl dgst -sha256 -r -- "$1"; }; else digest() { sha256sum -- "$1"; }; fi
cleanup() { rm -f -- "$partial.before" "$partial.after" "$partial.moved"; }
exclude=()
for x in "${excluded[@]}"; do exclude+=(--exclude="$minio/$x"); done
# tar writes the archive itself, as the runbook's command does. Hashing the finished file
# from the page cache afterwards measured faster and steadier here than hashing through
# pipes while tar writes.
tar --create --file="$partial" --blocking-factor="$blocking" --checkpoint="$checkpoint" \
  --checkpoint-action=echo="REGCLEAN-PROGRESS %u" --anchored --no-wildcards "${exclude[@]}" -- "$minio"
echo "TAR $?"
[ -f "$partial" ] || { cleanup; exit 0; }
# The object manifest again, compared with the census's (sorted only when they differ, as walks of
# unchanged directories list them in the same order), beside the digest (CPU-bound) and the
# read-back listing (seeks), all over the page cache.
exec {compared}< <(
  walk | manifest "$partial.after" >/dev/null
  if cmp -s -- "$partial.before" "$partial.after"; then echo "MOVED 0"; else
    sort -o "$partial.before" -- "$partial.before"
    sort -o "$partial.after" -- "$partial.after"
    comm -3 -- "$partial.before" "$partial.after" | sed 's/^\t//' | cut -f1 | sort -u > "$partial.moved"
    echo "MOVED $(wc -l < "$partial.moved")"
    head -n 20 -- "$partial.moved" | sed 's/^/MOVEDPATH /'
  fi
)
exec {digested}< <(digest "$partial"; echo "DIGEST $?")
# What the archive holds, read back from it (GNU tar seeks over the data of a regular file).
tar --list --verbose --file="$partial" | awk -v bk="$bookkeeping" -v top="${minio#/}" '
  {
    n++
    size = (substr($1, 1, 1) == "-") ? $3 : 0
    if (size) { b += size; d += int((size + 511) / 512) * 512 }
    name = $0
    for (i = 0; i < 5; i++) sub(/^[^ ]+ +/, "", name)
    if (length(name) >= 100) l += 512 + int((length(name) + 1 + 511) / 512) * 512
    sub(/\/$/, "", name)
    rel = (name == top) ? "" : (index(name, top "/") == 1 ? substr(name, length(top) + 2) : name)
    if (!(rel ~ bk)) { on++; ob += size }
  }
  END { printf "LISTED %.0f %.0f %.0f %.0f\nLISTOBJ %.0f %.0f\n", n, b, d, l, on, ob }'
echo "LISTPIPE ${PIPESTATUS[0]}"
cat <&"$compared"
cat <&"$digested"
cleanup
echo "SIZE $(stat -c %s -- "$partial")"
"""
)

#: args: PARTIAL_PATH FINAL_PATH SHA256 — only after the archive was verified
KEEP = r"""
set -eu
umask 077
partial=$1 final=$2 sha=$3
mv -f -- "$partial" "$final"
printf '%s  %s\n' "$sha" "${final##*/}" > "$final.sha256"
echo KEPT
"""

#: args: PARTIAL_PATH — a failed archive must not stay behind
DISCARD = r"""
rm -f -- "$1" "$1.walk" "$1.before" "$1.after" "$1.moved"
echo DISCARDED
"""
