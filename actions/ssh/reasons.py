"""Why an SSH or SFTP operation failed, in a few words for a sentence."""

from __future__ import annotations


def reason(exc: BaseException) -> str:
    """`ConnectionLost: connection closed`, or the error's kind when it says nothing."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
