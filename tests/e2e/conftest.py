"""The e2e tests' collection: the container image's test runs only when it is asked for by name.

`tests/e2e/test_image.py` builds the image (`make image`: a minute and more when the base or the
wheels change) and runs it. `make test` leaves it out; `make test-image`, which CI runs after
`make test`, names it (`pytest tests/e2e/test_image.py`). Left out means deselected, not skipped:
under CI=true a skip fails the run (tests/strict_skips.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

IMAGE_TEST = "test_image.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the image test unless a command-line argument names its file."""
    if any(Path(str(arg).split("::", 1)[0]).name == IMAGE_TEST for arg in config.args):
        return
    dropped = [
        item for item in items if item.path.name == IMAGE_TEST and item.path.parent == Path(__file__).parent
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
