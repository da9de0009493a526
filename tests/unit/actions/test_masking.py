"""The masker: every rendering of a secret becomes ••••, and nothing else changes."""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from actions.line_pump import CHUNK
from actions.masking import MASK, masker
from actions.output_lines import MAX_LINE, LineSplitter

CANARY = "Pa$$ w'rd\"CANARY/%+"


def test_no_secrets_leave_text_unchanged() -> None:
    mask = masker([None, "", None])
    assert mask("Pa$$ w'rd and everything else") == "Pa$$ w'rd and everything else"


def test_every_occurrence_is_masked_and_the_rest_kept() -> None:
    mask = masker(["hunter2"])
    assert mask("login hunter2 failed; retry with hunter2!") == f"login {MASK} failed; retry with {MASK}!"


@pytest.mark.parametrize(
    "rendering",
    [
        pytest.param(CANARY, id="plain"),
        pytest.param(quote(CANARY, safe=""), id="url-encoded"),
        pytest.param(re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(CANARY, safe="")), id="lower-hex"),
        pytest.param(quote_plus(CANARY, safe=""), id="form-encoded"),
        pytest.param(json.dumps(CANARY)[1:-1], id="json-string"),
        pytest.param(shlex.quote(CANARY), id="shlex-quote"),
    ],
)
def test_renderings_of_the_secret_are_masked(rendering: str) -> None:
    masked = masker([CANARY])(f"before {rendering} after")
    assert "CANARY" not in masked.upper()
    assert masked.startswith("before ") and masked.endswith(" after")


def test_bash_xtrace_and_printf_q_renderings_are_masked() -> None:
    traced = subprocess.run(
        ["bash", "-xc", ': "$0"; printf "%q\\n" "$0"', CANARY], capture_output=True, text=True, check=True
    )
    lines = [*traced.stderr.splitlines(), *traced.stdout.splitlines()]
    assert len(lines) == 3 and all("CANARY" in line for line in lines)
    assert all(CANARY not in line for line in lines)  # each rendering really splits the plain secret
    mask = masker([CANARY])
    assert [mask(line) for line in lines] == [f"+ : '{MASK}'", f"+ printf '%q\\n' '{MASK}'", MASK]


def test_a_basic_auth_token_passed_as_a_secret_is_masked() -> None:
    token = base64.b64encode(f"admin:{CANARY}".encode()).decode()
    assert masker([CANARY, token])(f"Authorization: Basic {token}") == f"Authorization: Basic {MASK}"


def test_the_longest_secret_is_masked_whole() -> None:
    mask = masker(["abc", "abcdef"])
    assert mask("xabcdefx abcx") == f"x{MASK}x {MASK}x"


def test_regex_characters_in_a_secret_are_literal() -> None:
    mask = masker(["a.c*"])
    assert mask("abc a.c* abcc") == f"abc {MASK} abcc"


def test_pieces_of_a_multi_line_secret_are_masked_on_their_own_lines() -> None:
    mask = masker(["first-line\nsecond-line"])
    assert [mask(line) for line in ["x first-line", "second-line y"]] == [f"x {MASK}", f"{MASK} y"]


def test_several_secrets_are_all_masked() -> None:
    mask = masker(["registry-pass", None, "platform-pass"])
    assert mask("registry-pass platform-pass") == f"{MASK} {MASK}"


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["base64", "urlsafe"])
def test_the_secret_in_base64_is_masked_with_or_without_its_padding(encode: Callable[[bytes], bytes]) -> None:
    mask = masker([CANARY])
    encoded = encode(CANARY.encode()).decode()
    assert mask(f"Authorization: Bearer {encoded}") == f"Authorization: Bearer {MASK}"
    assert mask(f"auth={encoded.rstrip('=')};") == f"auth={MASK};"


@pytest.mark.parametrize("offset", range(-len(CANARY) - 1, 2))
def test_an_overlong_progress_line_is_cut_where_no_secret_is_split(offset: int) -> None:
    """A `\\r` progress bar of 3 MiB without a newline, the password straddling the 1 MiB cut."""
    mask = masker([CANARY])
    pieces: list[str] = []
    splitter = LineSplitter(lambda _channel, line: pieces.append(mask(line)), cut=mask.cut)
    head = b"\r 42% [====>" * (2 * MAX_LINE // 12)
    head = head[: (MAX_LINE // CHUNK + 1) * CHUNK + offset]
    output = head + CANARY.encode() + b"\r" + b"#" * (2 * MAX_LINE) + b" done\n"
    for start in range(0, len(output), CHUNK):  # as the stream is read
        splitter.feed(1, output[start : start + CHUNK])
    splitter.flush()
    joined = "".join(pieces)
    assert len(pieces) >= 2, "the line was cut"
    assert joined.count(MASK) == 1 and "w'rd" not in joined and "Pa$$" not in joined
    assert (
        joined.replace(MASK, CANARY).encode()
        == head + CANARY.encode() + b"\r" + b"#" * (2 * MAX_LINE) + b" done"
    )


def test_without_a_secret_an_overlong_line_is_cut_at_the_bound() -> None:
    cut = masker([]).cut
    assert cut(b"x" * (MAX_LINE + 5)) == MAX_LINE + 5
