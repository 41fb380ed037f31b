"""What several benchmark scripts share that is not data: the test helpers they reuse."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def use_test_helpers() -> None:
    """Make `tests/_*_support.py` importable (real local servers, tiny data). They are not a package:
    pytest puts tests/ on the path for the tests, and this does the same for a benchmark."""
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
