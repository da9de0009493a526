"""The installer node and the platform: `res/upload.sh`, `violet`, `violet show` of every package and the
plugin directory; the platform's address answers over HTTPS and credentials are configured.

violet documents `push`, `show` and `verify`, and no read-only login: the platform credentials can
only be proven by a push, which the doctor never does. It says so rather than pass them.
"""

from __future__ import annotations

from collections.abc import Callable

from actions.errors import ActionError
from actions.kube import KubeReader
from actions.node_probe import probe_installer
from actions.platform_probe import probe_platform
from actions.plugin_dir import read_plugin_dir
from bot.config.settings import Settings
from bot.config.targets import plugin_dir
from bot.doctor.model import Check, fail, ok, warn
from bot.steps.backup.plan import installer_target

AREA, PLATFORM = "installer", "platform"


async def installer_checks(settings: Settings, kube: Callable[[], KubeReader]) -> list[Check]:
    """upload.sh, violet, the plugin directory, then `violet show` of each package."""
    directory = plugin_dir(settings)
    try:
        target = await installer_target(settings, kube)
        probe = await probe_installer(target, settings.installer_dir, directory)
    except ActionError as exc:
        return [fail(AREA, "ssh", str(exc), "Set REGCLEAN_INSTALLER_NODE and check SSH to it.")]
    upload = f"{settings.installer_dir.rstrip('/')}/res/upload.sh"
    checks = [
        ok(AREA, "upload.sh", f"{upload} on {target.address}")
        if probe.upload == "present"
        else fail(
            AREA,
            "upload.sh",
            f"{upload} is {probe.upload} on {target.address}",
            "Set REGCLEAN_INSTALLER_DIR to the installer's directory.",
        ),
        ok(AREA, "violet", f"{probe.violet} on {target.address}")
        if probe.violet
        else fail(
            AREA,
            "violet",
            f"violet is not on the PATH of {target.user}@{target.address}",
            "Download violet from Marketplace → Upload Packages and put it on the node's PATH.",
        ),
        ok(AREA, "plugin dir", f"{directory}: {probe.packages} packages")
        if probe.packages is not None
        else fail(
            AREA,
            "plugin dir",
            f"{directory} does not exist on {target.address}",
            "Set REGCLEAN_PLUGIN_DIR (or REGCLEAN_INSTALLER_DIR).",
        ),
    ]
    checks.extend(command_line_secrets(settings, target.address))
    if probe.violet is None or probe.packages is None:
        return checks
    try:
        plugins = await read_plugin_dir(target, directory)
    except ActionError as exc:
        return [
            *checks,
            fail(AREA, "violet show", str(exc), "Run `violet show PKG --all` on the node to see why."),
        ]
    refused = [s for s in plugins.shown if s.error]
    if refused:
        names = "; ".join(f"{s.file}: {s.error}" for s in refused[:5])
        checks.append(
            fail(
                AREA,
                "violet show",
                f"{len(refused)} of {len(plugins.shown)} refused: {names}",
                "Replace those packages with good copies.",
            )
        )
    else:
        checks.append(ok(AREA, "violet show", f"all {len(plugins.shown)} packages shown"))
    return checks


async def platform_checks(settings: Settings) -> list[Check]:
    """The address answers over HTTPS; the credentials are configured (proven only by a push)."""
    if not settings.platform_url:
        return [
            fail(
                PLATFORM,
                "address",
                "REGCLEAN_PLATFORM_URL is not set",
                "Set it to the platform's address, as violet push --platform-address takes it.",
            )
        ]
    answer = await probe_platform(settings.platform_url, settings.registry_ca_file)
    checks = [
        ok(
            PLATFORM,
            "address",
            f"{settings.platform_url} answers (HTTP {answer.status}) from regclean's host",
        )
        if answer.status is not None
        else fail(
            PLATFORM,
            "address",
            f"{settings.platform_url}: {answer.problem}",
            "Check REGCLEAN_PLATFORM_URL, and REGCLEAN_REGISTRY_CA_FILE for the platform's CA.",
        )
    ]
    if settings.platform_token:
        checks.append(
            ok(
                PLATFORM,
                "credentials",
                "a token is configured; violet has no read-only login, so only the push will prove it",
            )
        )
    elif settings.platform_username and settings.platform_password:
        checks.append(
            ok(
                PLATFORM,
                "credentials",
                f"{settings.platform_username} and a password are configured; only the push will prove them",
            )
        )
    else:
        checks.append(
            fail(
                PLATFORM,
                "credentials",
                "neither REGCLEAN_PLATFORM_TOKEN nor a username and password is set",
                "Set REGCLEAN_PLATFORM_TOKEN, or REGCLEAN_PLATFORM_USERNAME and _PASSWORD.",
            )
        )
    return checks


def command_line_secrets(settings: Settings, node: str) -> list[Check]:
    """The vendor's tools take their secret as an argument, so while they run, `ps` on the
    installer node shows it to anyone with a shell there (regclean keeps it off its own command
    line and the SSH exec request: a wrapper reads it from stdin). upload.sh has no other way; violet
    can take an API token instead of the password, which can be scoped and revoked."""
    checks = [
        warn(
            AREA,
            "upload.sh password",
            f"upload.sh takes the registry password as an argument: while the core images are pushed, "
            f"`ps` on {node} shows it",
            "Keep other users off the installer node during the night, and change the registry password "
            "afterwards if they were not.",
        )
    ]
    if settings.platform_token is None:
        checks.append(
            warn(
                AREA,
                "violet password",
                f"violet push will take the platform password as an argument (`ps` on {node} shows it "
                "while the plugins are pushed)",
                "Set REGCLEAN_PLATFORM_TOKEN to an API token of the platform user: violet then takes the "
                "token (--platform-token), which can be revoked after the night.",
            )
        )
    return checks
