"""Small data and configs for the MMPretrain adapter tests (no downloads)."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
from mmpretrain.datasets import CIFAR10
from mmpretrain.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
TINY_CONFIG = CONFIGS / "resnet18_aib_qt_8xb16_cifar10.py"

CIFAR10_FILES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]


#: Imported by child processes (``custom_imports``) to register ``WrittenCIFAR10``.
HELPERS_MODULE = "tests.mmpretrain.mmp_helpers"


@DATASETS.register_module(force=True)
class WrittenCIFAR10(CIFAR10):
    """MMPretrain's stock ``CIFAR10``, all its code, for the batches :func:`write_cifar10` writes.

    Only the checksum table differs: stock ``CIFAR10`` pins the official files' md5 sums and
    downloads the archive when they differ; with no md5 (``None``, which its integrity check
    skips) it reads any well-formed batches. Build it with ``download=False``.
    """

    train_list = [[name, None] for name in CIFAR10_FILES]
    test_list = [["test_batch", None]]
    meta = {**CIFAR10.meta, "md5": None}


def write_cifar10(root: Path, per_batch: int = 8, test: int = 8, seed: int = 0) -> Path:
    """Write CIFAR-10-format pickled batches (random images) under ``root/cifar-10-batches-py``.

    The md5 sums differ from the official files, so they are read with :class:`WrittenCIFAR10`
    (``download=False``), which runs mmpretrain's own CIFAR10 loading code.
    """
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def batch(n: int) -> dict:
        return {
            "data": rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8),
            "labels": [int(x) for x in rng.integers(0, 10, size=n)],
        }

    for name in CIFAR10_FILES:
        (folder / name).write_bytes(pickle.dumps(batch(per_batch)))
    (folder / "test_batch").write_bytes(pickle.dumps(batch(test)))
    (folder / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [f"class{i}" for i in range(10)]})
    )
    return root


def tiny_options(data_root: Path, work_dir: Path, epochs: int = 1) -> list[str]:
    """``--cfg-options`` that shrink a CIFAR config to seconds on a CPU."""
    opts = [
        f"work_dir={work_dir}",
        f"train_cfg.max_epochs={epochs}",
        "train_dataloader.batch_size=8",
        "train_dataloader.num_workers=1",
        "val_dataloader.batch_size=8",
        "val_dataloader.num_workers=1",
        "test_dataloader.batch_size=8",
        "test_dataloader.num_workers=1",
        "default_hooks.logger.interval=1",
        "custom_hooks.0.interval=1",
        "custom_hooks.0.num_images=2",
        "custom_hooks.0.min_size=32",
        "randomness.seed=0",
        # a narrow ResNet-18 (8 base channels) keeps an iteration well under a second
        "model.backbone.stem_channels=8",
        "model.backbone.base_channels=8",
        "model.neck.in_channels=64",
        "model.neck.bottleneck_dim=16",
        "model.head.in_channels=16",
    ]
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        opts += [
            f"{loader}.dataset.type=WrittenCIFAR10",
            f"{loader}.dataset.data_root={data_root}",
            f"{loader}.dataset.download=False",
        ]
    return opts


def tiny_config(directory: Path, base: Path = TINY_CONFIG) -> Path:
    """A config file in ``directory``: ``base`` importing this module too (``WrittenCIFAR10``),
    for child processes, which import the ``custom_imports`` of the config file."""
    path = directory / f"written_cifar_{base.stem}.py"
    path.write_text(
        f"_base_ = [{str(base)!r}]\n"
        f"custom_imports = dict(imports=['aib_plugin.mmpretrain', {HELPERS_MODULE!r}], "
        "allow_failed_imports=False)\n"
    )
    return path


def subprocess_env() -> dict:
    """Environment for child processes: 1 thread each, the repo importable."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["PYTHONWARNINGS"] = "ignore"
    return env


PYTHON = sys.executable


def free_port() -> int:
    """A free TCP port on localhost for a process group."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
