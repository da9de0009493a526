"""The installer directory on the first control-plane node (`/cpaas/installer`) and the vendor
tools that use it, as stand-ins: `res/upload.sh` pushes the core images, `plugins/` holds one
package per operator and plugin (named as shipped, its identity inside), and `violet` shows,
verifies and pushes packages. The images are OCI layouts of the same images the registry starts
with, and every push is a real `skopeo copy`."""

from .applications import installed_applications
from .install import (
    FAIL_AFTER,
    add_package,
    break_verification,
    corrupt_package,
    fail_package,
    fail_upload_after,
    install_violet,
    write_installer,
)
from .layouts import PROBE_IMAGE, InstallerImages, plan_images
from .packages import (
    EXTRA_PACKAGES,
    PACKAGE_REGISTRY,
    PackageSpec,
    operator_spec,
    package_bytes,
    package_specs,
    plugin_spec,
)
from .violet import Account, write_config

__all__ = [
    "EXTRA_PACKAGES",
    "FAIL_AFTER",
    "PACKAGE_REGISTRY",
    "PROBE_IMAGE",
    "Account",
    "InstallerImages",
    "PackageSpec",
    "add_package",
    "break_verification",
    "corrupt_package",
    "fail_package",
    "fail_upload_after",
    "install_violet",
    "installed_applications",
    "operator_spec",
    "package_bytes",
    "package_specs",
    "plan_images",
    "plugin_spec",
    "write_config",
    "write_installer",
]
