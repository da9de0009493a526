"""How the settings' structured values are read and checked: windows, zones, selectors, step durations.

Each function raises ValueError with a sentence that names what is wrong; pydantic then puts the
setting's name in front of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from bot.core.durations import parse_duration
from bot.core.errors import WindowError
from bot.core.model import StepName
from bot.core.timefmt import known_zone
from bot.steps.schedule.windows import parse_recurring

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")

#: how long each step is expected to take, unless REGCLEAN_STEP_EXPECTED says otherwise
STEP_EXPECTED: dict[str, timedelta] = {
    StepName.INVENTORY: timedelta(minutes=15),
    StepName.BACKUP: timedelta(hours=2),
    StepName.PREFLIGHT: timedelta(minutes=15),
    StepName.EXPORT: timedelta(hours=1),
    StepName.PURGE: timedelta(hours=2),
    StepName.RESTORE_CORE: timedelta(hours=3),
    StepName.RESTORE_PLUGINS: timedelta(hours=3),
    StepName.RESTORE_CUSTOM: timedelta(hours=1),
    StepName.VERIFY: timedelta(hours=1),
    StepName.CLOSE: timedelta(minutes=30),
}


def check_windows(rules: tuple[str, ...]) -> tuple[str, ...]:
    """Every recurring window parses (the zone cannot make a rule invalid)."""
    try:
        return tuple(parse_recurring(rule).rule for rule in rules)
    except WindowError as exc:
        raise ValueError(str(exc).rstrip(".")) from None


def step_expected(value: object) -> object:
    """`purge=3h,restore_core=2h` (or a mapping) over the defaults; an unknown step is refused."""
    if isinstance(value, str):
        value = dict(pair.partition("=")[::2] for pair in value.split(",") if pair.strip())
    if not isinstance(value, Mapping):
        return value
    given = {str(k).strip(): parse_duration(v) if isinstance(v, str) else v for k, v in value.items()}
    unknown = sorted(set(given) - set(STEP_EXPECTED))
    if unknown:
        raise ValueError(f"unknown steps {', '.join(unknown)}; the steps are {', '.join(STEP_EXPECTED)}")
    return {**STEP_EXPECTED, **given}


def check_zone(value: str) -> str:
    """An IANA time zone this machine knows."""
    if known_zone(value) is None:
        raise ValueError(f"'{value}' is not an IANA time zone like Europe/Berlin or Asia/Shanghai")
    return value


def check_selector(value: str | None) -> str | None:
    """A label selector of `key=value` (or `!=`) terms."""
    if value is not None and not re.fullmatch(r"[\w./-]+(!?=[\w.-]*)?(,[\w./-]+(!?=[\w.-]*)?)*", value):
        raise ValueError(
            f"'{value}' is not a label selector like app=minio or app=registry,component=registry"
        )
    return value


def check_ca_file(value: str | None) -> str | None:
    """A readable PEM file holding at least one certificate."""
    if value is None:
        return None
    try:
        text = Path(value).read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ValueError(
            f"cannot read '{value}' ({exc.strerror}); give the PEM bundle of the platform's CA"
        ) from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"'{value}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return value


#: `sftp://host/path` or `sftp://host:port/path`; the host an address (IPv6 in brackets) or a name
SFTP_URL = re.compile(r"sftp://(?P<host>\[[0-9A-Fa-f:.]+\]|[\w.-]+)(?::(?P<port>\d{1,5}))?(?P<path>/.*)")


def check_export_dir(value: str | None) -> str | None:
    """An absolute directory of regclean's host, or `sftp://<node address>[:port]/absolute/path`."""
    if value is None or value.startswith("/"):
        return value
    if value.startswith("sftp://"):
        if SFTP_URL.fullmatch(value) is None:
            raise ValueError(f"'{value}' is not sftp://<node address>/absolute/path")
        return value
    raise ValueError(f"'{value}' is neither an absolute path nor sftp://<node address>/absolute/path")


def check_bucket(value: str) -> str:
    """A bucket name as MinIO accepts one (S3's rules): 3 to 63 lower-case letters, digits, dots and
    hyphens, a letter or digit at each end, no `..`, `.-` or `-.`, and not an IPv4 address. An
    empty or odd name would otherwise reach `mc rm` as a target such as `minio//`."""
    if (
        not _BUCKET.fullmatch(value)
        or ".." in value
        or ".-" in value
        or "-." in value
        or _IPV4.fullmatch(value)
    ):
        raise ValueError(
            f"{value!r} is not a valid bucket name: use 3 to 63 lower-case letters, digits, dots and "
            "hyphens, starting and ending with a letter or digit (the registry's bucket is usually `registry`)"
        )
    return value
