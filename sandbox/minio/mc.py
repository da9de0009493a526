"""A stand-in for MinIO's client `mc`, covering what the runbook uses, errors included.

`python -m sandbox.minio.mc [--insecure] [--json] [--quiet] COMMAND ...` with the commands
`alias set`, `ls [--recursive] [--versions]`, `rm [--recursive] [--force] [--dangerous] [--fake]
[--versions]`, `du [--versions]` and `version info|enable|suspend`.
It talks S3 to the alias's server itself (`s3client.py`). No message ever contains a secret key.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import config, messages
from .cli import Invocation, UsageError, parse, resolve
from .listing import du_cmd, ls_cmd
from .remote import Alias, Remote, S3Failure
from .removal import rm_cmd


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status is mc's: 0, or 1 after any error."""
    try:
        inv = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        messages.error(str(err))
        return 1
    run = {"alias": alias_cmd, "ls": ls_cmd, "rm": rm_cmd, "du": du_cmd, "version": version_cmd}[inv.command]
    try:
        return run(inv)
    finally:
        sys.stdout.flush()


# --- alias -------------------------------------------------------------------------------------


def alias_cmd(inv: Invocation) -> int:
    """`mc alias set ALIAS URL [ACCESSKEY [SECRETKEY]]` (missing keys are read from stdin)."""
    if not inv.args or inv.args[0] not in ("set", "s"):
        messages.error("Invalid command usage: only `alias set` is available in the sandbox's mc.")
        return 1
    args = inv.args[1:]
    if not 2 <= len(args) <= 4:
        messages.error("Incorrect number of arguments for alias set command.", json_mode=inv.json)
        return 1
    keys = args[2:] + [sys.stdin.readline().rstrip("\n") for _ in range(4 - len(args))]
    name, url = args[0].rstrip("/"), args[1].rstrip("/")
    if not config.valid_alias(name):
        messages.error("Invalid alias.", f"Alias `{name}` should have alphanumeric characters", inv.json)
        return 1
    if not config.valid_host_url(url):
        cause = f"URL `{url}` for MinIO Client should be of the form scheme://host[:port]/ without resource component"
        messages.error("Invalid URL.", cause, inv.json)
        return 1
    alias = Alias(name, url, keys[0], keys[1])
    remote = Remote(alias, insecure=inv.insecure)
    try:
        remote.authorize()
    except S3Failure as err:
        if err.code != "AccessDenied":  # mc takes AccessDenied as "the keys are valid"
            messages.error(
                "Unable to initialize new alias from the provided credentials.", str(err), inv.json
            )
            return 1
    finally:
        remote.close()
    config.save(config.config_dir(inv.config_dir), alias)
    messages.alias_added(name, url, alias.access_key, inv.json)
    return 0


# --- version -----------------------------------------------------------------------------------

_VERSION_OPS = {"info": None, "enable": "Enabled", "suspend": "Suspended"}
_VERSION_FAILURES = {
    "info": "Unable to get versioning info",
    "enable": "Unable to enable versioning",
    "suspend": "Unable to suspend versioning",
}


def version_cmd(inv: Invocation) -> int:
    """`mc version info|enable|suspend ALIAS/BUCKET`: ``ALIAS/BUCKET versioning is enabled``."""
    if len(inv.args) != 2 or inv.args[0] not in _VERSION_OPS:
        messages.error("Invalid command usage: `version` needs info, enable or suspend and ALIAS/BUCKET.")
        return 1
    op, text = inv.args
    target = resolve(inv, text)
    if target is None:
        return 1
    remote = Remote(target.alias, insecure=inv.insecure)
    try:
        wanted = _VERSION_OPS[op]
        if wanted is not None:
            remote.set_versioning(target.bucket, wanted)
        status = remote.versioning(target.bucket)
    except S3Failure as err:
        messages.error(_VERSION_FAILURES[op], str(err), inv.json)
        return 1
    finally:
        remote.close()
    messages.versioning(text.rstrip("/"), status, inv.json, op)
    return 0


if __name__ == "__main__":
    sys.exit(main())
