"""Fixtures for the MMPretrain adapter tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

import torch  # noqa: E402

import aib_plugin.mmpretrain  # noqa: E402,F401  (registers the components; needs mmpretrain)

from .mmp_helpers import write_cifar10  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CIFAR-10-format batches: 5 x 8 training and 8 test images."""
    return write_cifar10(tmp_path_factory.mktemp("cifar10"))
