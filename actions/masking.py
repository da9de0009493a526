"""Masking credentials in everything the bot shows or stores: output lines, tails, error messages.

A secret is rarely printed only as itself. A script under `set -x` prints it shell-quoted
(`'it'\\''s'`), a URL carries it percent-encoded, a JSON error escapes its quotes, and an HTTP
trace shows `user:pass` in base64 (the caller adds that form as a secret of its own, since only it
knows the user). Each of these renderings is masked, the longest first, in a single pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

MASK = "••••"

_PERCENT = re.compile(r"%[0-9A-F]{2}")
# What bash's `printf %q` puts a backslash before (`~` and `#` only at the start); a secret with
# control characters comes out as $'…' instead, which is not worth guessing.
_BACKSLASHED = re.compile(r"""([ '"\\|&;()<>!{}*\[\]?^$`,]|^[~#])""")


def masker(secrets: Iterable[str | None]) -> Callable[[str], str]:
    """A function that replaces every rendering of each non-empty secret with `••••`."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update(renderings(secret))
    forms.discard("")
    if not forms:
        return _unchanged
    # Longest first, so that a secret containing another one is masked whole, not around it.
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=lambda f: (-len(f), f))))

    def mask(text: str) -> str:
        return pattern.sub(MASK, text)

    return mask


def renderings(secret: str) -> set[str]:
    """The forms in which a secret may appear in a script's output."""
    url = quote(secret, safe="")
    forms = {
        secret,
        url,
        _PERCENT.sub(lambda m: m.group(0).lower(), url),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],  # inside a JSON string (ASCII escapes)
        json.dumps(secret, ensure_ascii=False)[1:-1],
        secret.replace("'", "'\\''"),  # inside '…', as bash's xtrace and many scripts quote
        secret.replace("'", "'\"'\"'"),  # inside '…', as shlex.quote does
        _BACKSLASHED.sub(r"\\\1", secret),  # printf %q
    }
    # A line break splits a secret across lines; mask each sizeable piece on its own.
    if "\n" in secret:
        forms.update(part for part in secret.splitlines() if len(part) >= 4)
    return forms


def _unchanged(text: str) -> str:
    return text
