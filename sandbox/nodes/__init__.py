"""The sandbox's control-plane nodes: SSH servers running real shell commands, for the backup step."""

from .cluster import SandboxCluster
from .keys import NodeKeys, generate_keys, known_hosts_line, write_known_hosts
from .minio_tree import STAGING, TreeStats, populate_minio, populate_minio_bytes, tree_stats
from .openssh import OpenSshServer
from .scanner import MinioScanner, gate_missing
from .server import SandboxNode

__all__ = [
    "STAGING",
    "MinioScanner",
    "NodeKeys",
    "OpenSshServer",
    "SandboxCluster",
    "SandboxNode",
    "TreeStats",
    "gate_missing",
    "generate_keys",
    "known_hosts_line",
    "populate_minio",
    "populate_minio_bytes",
    "tree_stats",
    "write_known_hosts",
]
