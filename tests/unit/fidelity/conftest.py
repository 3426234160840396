"""The fidelity checks' unit tests: the `tiny` fixture (builders of tiny hand-made datasets and
a runner of one check, from support.tiny_world), and NumPy's RuntimeWarning as an error."""

from __future__ import annotations

import pytest

from support.tiny_world import Tiny


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A check must not divide by zero on tiny inputs: NumPy's RuntimeWarning fails its test."""
    for item in items:
        if item.path.name.startswith("test_check_"):
            item.add_marker(pytest.mark.filterwarnings("error::RuntimeWarning"))


@pytest.fixture(scope="session")
def tiny() -> Tiny:
    """Builders of tiny datasets and a runner of one check."""
    return Tiny()
