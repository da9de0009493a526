"""Masking credentials in everything the bot shows or stores: output lines, tails, error messages.

A secret is rarely printed only as itself. A script under `set -x` prints it shell-quoted
(`'it'\\''s'`), a URL carries it percent-encoded, a JSON error escapes its quotes, and an HTTP
trace shows it in base64, or `user:pass` in base64 (the caller adds that form as a secret of its
own, since only it knows the user). Each of these renderings is masked, the longest first, in a
single pass.

Output is masked line by line, and a line longer than the splitter's bound (a `\r` progress bar
that never ends its line) is handed on in pieces: `Masker.cut` says where such a piece may end so
that no rendering of a secret is split across two pieces (and so escapes the mask in both).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "••••"

_PERCENT = re.compile(r"%[0-9A-F]{2}")
# What bash's `printf %q` puts a backslash before (`~` and `#` only at the start); a secret with
# control characters comes out as $'…' instead, which is not worth guessing.
_BACKSLASHED = re.compile(r"""([ '"\\|&;()<>!{}*\[\]?^$`,]|^[~#])""")


class Masker:
    """Replaces every rendering of each secret with `••••`; callable on a text."""

    def __init__(self, forms: Iterable[str]) -> None:
        ordered = sorted({f for f in forms if f}, key=lambda f: (-len(f), f))
        # Longest first, so that a secret containing another one is masked whole, not around it.
        self._text = re.compile("|".join(re.escape(f) for f in ordered)) if ordered else None
        encoded = [f.encode() for f in ordered]
        self._bytes = re.compile(b"|".join(re.escape(f) for f in encoded)) if encoded else None
        self._longest = max((len(f) for f in encoded), default=0)

    def __call__(self, text: str) -> str:
        return text if self._text is None else self._text.sub(MASK, text)

    def cut(self, block: bytes) -> int:
        """Where an overlong line `block` may be cut: the returned index leaves at its end enough bytes
        for any rendering that may go on in the next bytes, and is never inside a rendering."""
        if self._bytes is None or len(block) <= self._longest:
            return len(block)
        at = len(block) - (self._longest - 1)
        for match in self._bytes.finditer(block, max(0, at - self._longest)):
            if match.start() < at < match.end():
                at = match.start()
        return max(at, 1)


def masker(secrets: Iterable[str | None]) -> Masker:
    """A masker of every rendering of each non-empty secret."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update(renderings(secret))
    return Masker(forms)


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
    # in base64, as an Authorization header or a docker config.json shows it in debug output
    for encoded in (base64.b64encode(secret.encode()), base64.urlsafe_b64encode(secret.encode())):
        forms.update((encoded.decode(), encoded.decode().rstrip("=")))
    # A line break splits a secret across lines; mask each sizeable piece on its own.
    if "\n" in secret:
        forms.update(part for part in secret.splitlines() if len(part) >= 4)
    return forms
