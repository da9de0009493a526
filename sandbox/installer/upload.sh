#!/usr/bin/env bash
# res/upload.sh — the sandbox's STAND-IN for the ACP installer's image upload script, which ships
# in the vendor's installer tarball and in no registry. The sandbox copies it to
# <installer_dir>/res/upload.sh (sandbox/installer/install.py).
#
# Like the real one it pushes the platform's core images to the platform registry; here they are
# OCI layouts under res/images/<repo>/<tag>/, listed in res/<mode>-images.txt, and the pushes are
# real (`skopeo copy`). Like the real one it is sloppy: the push commands are traced with
# `set -x`, so the password shows in its output (the bot must mask it).
#
#   bash res/upload.sh <all|necessary> REGISTRY USERNAME PASSWORD
#
# Exit status: 0 when every image was pushed; 1 when a push failed (skopeo's error is printed,
# e.g. "unauthorized" for bad credentials); 2 for a usage error.
#
# Fault switch (tests): when res/.fail-after holds a number N, the script fails (exit 1) after
# pushing N images, as an upload that breaks off half way.
set -uo pipefail

usage() {
    {
        echo "Usage: bash res/upload.sh <all|necessary> <registry> <username> <password>"
        echo "  all        push every image of the platform"
        echo "  necessary  push the images the platform needs to start"
    } >&2
    exit 2
}

if [ "$#" -ne 4 ]; then
    echo "upload.sh: expected 4 arguments, got $#" >&2
    usage
fi
mode=$1 registry=$2 username=$3 password=$4
case "$mode" in
    all | necessary) ;;
    *)
        echo "upload.sh: unknown mode '$mode'" >&2
        usage
        ;;
esac

res=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list="$res/$mode-images.txt"
if [ ! -r "$list" ]; then
    echo "ERROR: image list $list not found; is this an installer directory?" >&2
    exit 1
fi
mapfile -t images < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$list")

fail_after=""
if [ -f "$res/.fail-after" ]; then
    fail_after=$(tr -d '[:space:]' <"$res/.fail-after")
fi

total=${#images[@]}
echo "==> upload $mode: $total images to $registry"
pushed=0
for ref in "${images[@]}"; do
    echo "[$((pushed + 1))/$total] pushing $ref ..."
    if [ -n "$fail_after" ] && [ "$pushed" -ge "$fail_after" ]; then
        echo "ERROR: push $ref failed: connection reset by peer (sandbox fault switch res/.fail-after=$fail_after)" >&2
        exit 1
    fi
    layout="$res/images/${ref%:*}/${ref##*:}"
    set -x
    skopeo --insecure-policy copy --all --dest-tls-verify=false --dest-creds "$username:$password" "oci:$layout" "docker://$registry/$ref"
    { rc=$?; set +x; } 2>/dev/null
    if [ "$rc" -ne 0 ]; then
        echo "ERROR: push $ref failed (skopeo exited with $rc)" >&2
        exit 1
    fi
    pushed=$((pushed + 1))
done
echo "==> upload $mode: $pushed images pushed to $registry"
echo "done"
