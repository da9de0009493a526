"""With CI=true a skipped test fails the run, with and without pytest-xdist; elsewhere a skip is only reported."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import pytest

def test_passes():
    pass

@pytest.mark.skip(reason="docker-registry is not installed")
def test_needs_the_registry():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""

WITHOUT_SKIPS = """
import pytest

def test_passes():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""

MODULE_SKIPPED = """
import pytest

pytest.skip("skopeo is not installed", allow_module_level=True)

def test_pulls():
    pass
"""

SERIAL: list[str] = []
TWO_WORKERS = ["-n", "2"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest on the pytester directory in a subprocess (xdist's workers need one), with the plugin."""
    # pytest-asyncio is not needed there, and warns about its unset loop scope
    return pytester.runpytest_subprocess(
        "-p", "tests.strict_skips", "-p", "no:asyncio", "-p", "no:cacheprovider", *args
    )


@pytest.fixture
def on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI=true, and the project importable in the subprocess (and its xdist workers)."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


@pytest.fixture
def not_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CI variable, and the project importable in the subprocess."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def test_the_suite_loads_the_strict_skips_plugin(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("tests.strict_skips")


@pytest.mark.parametrize("workers", [SERIAL, TWO_WORKERS], ids=["serial", "xdist"])
def test_on_ci_a_skipped_test_fails_the_run_and_is_named_with_its_reason(
    pytester: pytest.Pytester, on_ci: None, workers: list[str]
) -> None:
    pytester.makepyfile(test_suite=SUITE)

    result = run(pytester, *workers)

    result.assert_outcomes(passed=1, skipped=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "SKIPPED (not allowed under CI=true) test_suite.py::test_needs_the_registry - docker-registry is not installed"
        ]
    )


@pytest.mark.parametrize("workers", [SERIAL, TWO_WORKERS], ids=["serial", "xdist"])
def test_on_ci_a_module_skipped_while_collected_fails_the_run(
    pytester: pytest.Pytester, on_ci: None, workers: list[str]
) -> None:
    pytester.makepyfile(test_suite=WITHOUT_SKIPS, test_pulls=MODULE_SKIPPED)

    result = run(pytester, *workers)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["SKIPPED (not allowed under CI=true) test_pulls.py - skopeo is not installed"]
    )


@pytest.mark.parametrize("workers", [SERIAL, TWO_WORKERS], ids=["serial", "xdist"])
def test_on_ci_a_run_without_skips_passes_expected_failures_included(
    pytester: pytest.Pytester, on_ci: None, workers: list[str]
) -> None:
    pytester.makepyfile(test_suite=WITHOUT_SKIPS)

    result = run(pytester, *workers)

    result.assert_outcomes(passed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*not allowed under CI=true*")


def test_off_ci_a_skipped_test_is_only_reported(pytester: pytest.Pytester, not_on_ci: None) -> None:
    pytester.makepyfile(test_suite=SUITE)

    result = run(pytester)

    result.assert_outcomes(passed=1, skipped=1, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*not allowed under CI=true*")
