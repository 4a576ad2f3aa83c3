"""The backup drill: `make drill` (GREENLEDGER_DRILL=1) runs it; the ordinary run skips it.

It starts its own PostgreSQL clusters (never the shared 5432) and is run with
`--confcutdir=tests/drill`, so the suite's conftest (test databases on the shared servers) is
not loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DRILL = os.environ.get("GREENLEDGER_DRILL") == "1"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if DRILL:
        return
    skip = pytest.mark.skip(reason="point-in-time recovery on private clusters: `make drill`")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)
