"""The installer directory on the first control-plane node (`/cpaas/installer`) and the vendor
tools that use it, as stand-ins: `res/upload.sh` pushes the core images, `plugins/` holds one
package per operator and plugin (named `NAME.ARCH.VERSION.tgz`), and `violet push` pushes a
package's images. The images are OCI layouts of the same images the registry starts with, and
every push is a real `skopeo copy`."""

from .install import FAIL_AFTER, fail_package, fail_upload_after, install_violet, write_installer
from .layouts import PROBE_IMAGE, InstallerImages, plan_images
from .packages import EXTRA_PACKAGES, package_bytes, package_files, package_images
from .violet import Account, write_config

__all__ = [
    "EXTRA_PACKAGES",
    "FAIL_AFTER",
    "PROBE_IMAGE",
    "Account",
    "InstallerImages",
    "fail_package",
    "fail_upload_after",
    "install_violet",
    "package_bytes",
    "package_files",
    "package_images",
    "plan_images",
    "write_config",
    "write_installer",
]
