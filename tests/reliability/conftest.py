"""Fixtures of the reliability tests: the MMPretrain test helpers and tiny CIFAR-10 batches."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

MMP_TESTS = Path(__file__).resolve().parents[1] / "mmpretrain"
sys.path.insert(0, str(MMP_TESTS))


@pytest.fixture(scope="session")
def tiny_cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CIFAR-10-format batches: 5 x 8 training and 8 test images (no download)."""
    from mmp_helpers import write_cifar10

    return write_cifar10(tmp_path_factory.mktemp("reliability_cifar10"))
