"""The SSH client, and the only package that imports `asyncssh` (docs/architecture.md, "Layers").

Host keys are always checked against a known_hosts file; there is no fallback that accepts an
unknown key. Every failure comes out as one of our errors, saying which node and what to do.
`session.py` connects and runs commands; `files.py` is the node's files over SFTP.
"""

from actions.ssh.files import RemoteFile, RemoteFiles, RemoteStat
from actions.ssh.session import (
    LineHandler,
    OutputHandler,
    RemoteResult,
    Session,
    SshTarget,
    StreamedExit,
    connect,
)

__all__ = [
    "LineHandler",
    "OutputHandler",
    "RemoteFile",
    "RemoteFiles",
    "RemoteResult",
    "RemoteStat",
    "Session",
    "SshTarget",
    "StreamedExit",
    "connect",
]
