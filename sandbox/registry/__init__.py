"""The sandbox's registry storage: moto's S3 server standing in for MinIO, and Debian's
docker-registry (CNCF distribution) on its bucket, plus small OCI images to push with skopeo."""

from .images import (
    SkopeoError,
    layout_blobs,
    layout_manifest,
    make_oci_layout,
    pull,
    push,
    skopeo,
    skopeo_binary,
)
from .registry import Registry, registry_binary
from .s3 import S3Server

__all__ = [
    "Registry",
    "S3Server",
    "SkopeoError",
    "layout_blobs",
    "layout_manifest",
    "make_oci_layout",
    "pull",
    "push",
    "registry_binary",
    "skopeo",
    "skopeo_binary",
]
