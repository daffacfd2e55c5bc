"""Fixtures of the reliability tests: the MMPretrain test helpers and tiny CIFAR-10 batches."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CIFAR-10-format batches: 5 x 8 training and 8 test images (no download)."""
    from ..mmpretrain.mmp_helpers import write_cifar10

    return write_cifar10(tmp_path_factory.mktemp("reliability_cifar10"))
