"""The simulated Kubernetes API server of the sandbox, and the ACP fixtures it serves."""

from .resources import DEFAULT_RESOURCES, ResourceDef, merge_resources
from .server import KubeApiServer

__all__ = ["DEFAULT_RESOURCES", "KubeApiServer", "ResourceDef", "merge_resources"]
