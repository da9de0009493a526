"""The errors the actions raise. Each carries a sentence a person can act on.

Library exceptions never leave `actions/`: the clients translate them into these, raised
`from` the original so that the cause stays in the traceback of a log but never in the message.
"""

from __future__ import annotations


class RegcleanError(Exception):
    """The root of every error regclean raises on purpose; `str(err)` is safe to show to a person.

    It lives in the lowest layer so that every layer can raise and catch it; its branches are
    `ActionError` (here), and `ConfigError` and `RunbookError` (`bot.core.errors`).
    See docs/architecture.md, "Errors".
    """


class ActionError(RegcleanError):
    """Root of everything an action may raise; `str(err)` is safe to show to a person."""

    #: a short name of what failed, for checklists and the audit log
    what = "action failed"


class ConfigurationMissing(ActionError):
    """A setting that this step needs is not set."""

    what = "configuration missing"


class KubeConfigError(ActionError):
    """No usable Kubernetes configuration (kubeconfig or in-cluster)."""

    what = "no Kubernetes configuration"


class ApiUnreachable(ActionError):
    """The Kubernetes API server could not be reached at all."""

    what = "Kubernetes API unreachable"


class ApiUnauthorized(ActionError):
    """The API server rejected our credentials (401)."""

    what = "Kubernetes API refused the credentials"


class ApiForbidden(ActionError):
    """RBAC refused the request (403)."""

    what = "Kubernetes API forbade the request"


class ApiNotFound(ActionError):
    """A resource or object does not exist (404)."""

    what = "not found in the Kubernetes API"


class ApiListExpired(ActionError):
    """A paged list took too long and its continue token expired (410)."""

    what = "Kubernetes list expired"


class ApiError(ActionError):
    """Any other error status, or a malformed answer, from the API server."""

    what = "Kubernetes API error"


class ResourceNotServed(ActionError):
    """API discovery found no resource with the plural name we need."""

    what = "resource not served"


class NodeUnreachable(ActionError):
    """A node did not answer on its SSH port (refused, timed out, no route)."""

    what = "node unreachable"


class AuthenticationRefused(ActionError):
    """The node refused our SSH key."""

    what = "SSH authentication refused"


class HostKeyRejected(ActionError):
    """The node's host key is not the one known_hosts holds (unknown or changed)."""

    what = "host key not trusted"


class ConnectionDropped(ActionError):
    """The SSH connection was lost while a command ran; its outcome is unknown."""

    what = "SSH connection lost"


class RemoteCommandFailed(ActionError):
    """A command on a node exited with an error."""

    what = "remote command failed"


class NotEnoughSpace(ActionError):
    """The backup directory cannot hold the archive."""

    what = "not enough space"


class BackupInconsistent(ActionError):
    """Files changed while they were archived: the archive is not a valid backup."""

    what = "backup inconsistent"


class BackupNotVerified(ActionError):
    """The archive does not match the directory it was made from."""

    what = "backup not verified"


class NodesMismatch(ActionError):
    """Discovery found a different number of control-plane nodes than expected."""

    what = "unexpected control-plane nodes"


class RegistryUnreachable(ActionError):
    """The platform registry did not answer."""

    what = "registry unreachable"


class RegistryAuthFailed(ActionError):
    """The platform registry refused our credentials."""

    what = "registry refused the credentials"


class RegistryError(ActionError):
    """The registry answered with an error, or with something that is not the distribution API."""

    what = "registry error"


class RemoteFileError(ActionError):
    """A file operation over SFTP on a node failed; `missing` when the file does not exist."""

    what = "remote file operation failed"

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class ExportError(ActionError):
    """An image export (an OCI image layout) cannot be written or read as it must be."""

    what = "image export failed"


class ExportSpaceShort(ExportError):
    """The export directory has less free space than the blobs still missing from it need."""

    what = "not enough space for the export"


class PodsNotReady(ActionError):
    """Pods did not become Ready in time (after a restart, say)."""

    what = "pods not ready"
