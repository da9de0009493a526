"""The sandbox's STAND-IN for `violet`, the vendor's (Alauda's) package tool, which no registry ships.

    violet push PKG --platform-address URL (--platform-token TOKEN | --platform-username USER --platform-password PASSWORD)
    violet show PKG [--all]
    violet verify PKG|DIR
    violet list --platform-address URL (--platform-token T | …) [--clusters a,b] [--output-file F]

`push` unpacks the package (a gzipped tar of OCI layouts and a `package.yaml` with its identity,
see `packages.py`) and pushes its artifact and related images with the real `skopeo` to the
platform's registry, under the path `violet show --all` prints without its registry host. The
token and the username/password are exclusive, as the documentation says; their errors are the
ones cobra (which violet's CLI uses) gives for flag groups. `show` and `verify` are in
`violet_read.py`, `list` in `violet_list.py`, the command line's parsing in `violet_flags.py`.

The real violet logs in to the platform at URL and asks its API where the registry is and how to
push there. This stand-in reads that answer from a small JSON file the sandbox writes instead
(`VIOLET_SANDBOX_CONFIG`): the platform's address and credentials, which it checks the arguments
against as the platform's login would (a user's password, or the user's API token), and the
registry's address and credentials.

Fault switch (tests): a file `PKG.fail` next to the package makes its push fail before any image
is pushed; content `once` fails one push and removes the file, anything else (`always`) fails
every push.

It runs as a script (`install.py` writes the wrapper), so it imports nothing of the sandbox but its
siblings `violet_read.py` and `violet_list.py`, and of the rest only PyYAML.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import yaml

try:  # as the sandbox's module
    from . import violet_list
    from .violet_flags import COMMANDS, USAGE, FlagError, login_flags, parse, parse_flags
    from .violet_read import ReadFailure, show, verify
except ImportError:  # as the script on the installer node
    import violet_list  # type: ignore[import-not-found,no-redef]
    from violet_flags import (  # type: ignore[import-not-found,no-redef]
        COMMANDS,
        USAGE,
        FlagError,
        login_flags,
        parse,
        parse_flags,
    )
    from violet_read import ReadFailure, show, verify  # type: ignore[import-not-found,no-redef]

CONFIG_VARIABLE = "VIOLET_SANDBOX_CONFIG"


class Account(NamedTuple):
    """An address and the credentials that are accepted there. (Not a dataclass: the stand-in
    starts for every `violet` command, and `dataclasses` imports `inspect`, the costliest import.)"""

    address: str
    username: str
    password: str
    token: str | None = None
    """The user's API token (the platform only), accepted instead of username and password."""


class Failure(Exception):
    """Ends the command with `Error: MESSAGE` on stderr and exit status 1, as violet does."""


def write_config(
    path: Path, platform: Account, registry: Account, applications: dict[str, Any] | None = None
) -> Path:
    """Write the platform API's stand-in answer: the platform's login, the registry to push to, and
    the installed applications `violet list` lists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    answer = {
        "platform": platform._asdict(),
        "registry": registry._asdict(),
        "applications": applications or {},
    }
    path.write_text(json.dumps(answer, indent=2))
    path.chmod(0o600)
    return path


def main(argv: list[str]) -> int:
    """Run one violet command; returns its exit status."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("violet manages ACP plugin and operator packages.\n\n" + USAGE)
        return 0
    command = argv[0]
    if command not in COMMANDS:
        return _fail(f'unknown command "{command}" for "violet"' + "\nRun 'violet --help' for usage.")
    try:
        if any(a in ("-h", "--help") for a in argv[1:]):
            print(USAGE)
            return 0
        if command == "list":
            return _list(parse_flags(command, argv[1:]))
        target, flags = parse(command, argv[1:])
        if command == "show":
            print(show(Path(target), "all" in flags), end="", flush=True)
            return 0
        if command == "verify":
            return _verify(Path(target))
        return push(Path(target), login_flags(flags))
    except (Failure, FlagError, ReadFailure) as failure:
        return _fail(str(failure))


def _list(flags: dict[str, str]) -> int:
    _login(login_flags(flags), out=sys.stderr)  # stdout is the YAML alone
    text = violet_list.render(_read_answer().get("applications") or {}, flags.get("clusters"))
    print(text, end="", flush=True)
    violet_list.write(text, flags.get("output-file"))
    return 0


def _verify(path: Path) -> int:
    summary = verify(path)
    print(summary.render(path.absolute()), flush=True)
    if summary.failed:
        return _fail(f"{len(summary.failed)} file(s) failed verification")
    return 0


def push(package: Path, flags: dict[str, str]) -> int:
    """Log in to the platform, unpack the package and push its images."""
    import tempfile  # here, not at the top: `show`, run once per package, starts without it

    registry = _read_config()[1]
    if not package.is_file():
        raise Failure(f"open {package}: no such file or directory")
    _login(flags)
    with tempfile.TemporaryDirectory(prefix="violet-") as tmp:
        manifest = _unpack(package, Path(tmp))
        images = manifest.get("images") or []
        arch = " ".join(manifest.get("arch") or []) or "?"
        print(
            f"Package {manifest.get('name')} {manifest.get('version', '')} ({arch}): {len(images)} image(s)",
            flush=True,
        )
        _fault(package, registry, images)
        for index, image in enumerate(images, start=1):
            reference = image["reference"]
            print(f"[{index}/{len(images)}] push {reference} -> {registry.address}/{reference}", flush=True)
            _skopeo_copy(Path(tmp) / image["layout"], registry, reference)
    print(f"Push package {package.name} succeeded", flush=True)
    return 0


def _login(flags: dict[str, str], out: TextIO = sys.stdout) -> None:
    """Log in as the platform would: its address, then the token or the username and password."""
    platform = _read_config()[0]
    address = flags["platform-address"].rstrip("/")
    if address != platform.address.rstrip("/"):
        raise Failure(
            f'Post "{address}/console-acp/api/v1/token/login": dial tcp: connect: connection refused'
        )
    if "platform-token" in flags:
        if not platform.token or flags["platform-token"] != platform.token:
            raise Failure("authentication failed: 401 Unauthorized")
    elif (flags["platform-username"], flags["platform-password"]) != (platform.username, platform.password):
        raise Failure("authentication failed: 401 Unauthorized")
    print(f"Logged in to {address} as {platform.username}", flush=True, file=out)


def _read_config() -> tuple[Account, Account]:
    data = _read_answer()
    try:
        return Account(**data["platform"]), Account(**data["registry"])
    except (KeyError, TypeError) as exc:
        raise Failure(f"sandbox: the platform's stand-in answer lacks {exc}") from None


def _read_answer() -> dict[str, Any]:
    path = os.environ.get(CONFIG_VARIABLE)
    try:
        data = json.loads(Path(path or "").read_text())
    except (OSError, ValueError) as exc:
        raise Failure(f"sandbox: cannot read the platform's stand-in answer {path!r} ({exc})") from None
    if not isinstance(data, dict):
        raise Failure(f"sandbox: the platform's stand-in answer {path!r} is not an object")
    return data


def _unpack(package: Path, into: Path) -> dict[str, Any]:
    try:
        with tarfile.open(package, "r:gz") as tar:
            tar.extractall(into, filter="data")
        manifest = yaml.safe_load((into / "package.yaml").read_text())
    except (OSError, tarfile.TarError, yaml.YAMLError) as exc:
        raise Failure(f"invalid package {package.name}: {exc}") from None
    if not isinstance(manifest, dict):
        raise Failure(f"invalid package {package.name}: package.yaml is not a mapping")
    return manifest


def _fault(package: Path, registry: Account, images: list[dict[str, str]]) -> None:
    switch = package.with_name(package.name + ".fail")
    if not switch.exists():
        return
    mode = switch.read_text().strip() or "always"
    if mode == "once":
        switch.unlink()
    first = images[0]["reference"] if images else package.name
    raise Failure(
        f"push image {registry.address}/{first}: received unexpected HTTP status: "
        f"500 Internal Server Error (sandbox fault switch {switch.name}: {mode})"
    )


def _skopeo_copy(layout: Path, registry: Account, reference: str) -> None:
    import subprocess  # as tempfile in `push`

    argv = [
        "skopeo", "--insecure-policy", "copy", "--all", "--dest-tls-verify=false",
        "--dest-creds", f"{registry.username}:{registry.password}",
        f"oci:{layout}", f"docker://{registry.address}/{reference}",
    ]  # fmt: skip
    try:
        status = subprocess.run(argv, stdin=subprocess.DEVNULL, check=False).returncode
    except OSError as exc:
        raise Failure(f"push image {reference}: {exc}") from None
    if status != 0:
        raise Failure(f"push image {registry.address}/{reference} failed (skopeo exited with {status})")


def _fail(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
