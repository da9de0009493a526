"""The MinIO side of the sandbox: a stand-in for MinIO's client `mc`, and the MinIO pod it runs in.

`pod` (the pod's files and `pods/exec` environment) is imported on its own, so that starting
`python -m sandbox.minio.mc` does not load the API server's modules.
"""

from .remote import Alias
from .wrapper import install_mc

__all__ = ["Alias", "install_mc"]
