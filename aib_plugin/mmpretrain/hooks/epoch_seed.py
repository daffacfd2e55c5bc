"""Per-epoch state: ``EpochSeedHook`` (``--resume`` reproduces an uninterrupted run exactly) and
``DatasetEpochHook`` (the training dataset learns which epoch starts)."""

from __future__ import annotations

import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

#: Multiplier that spreads the per-epoch seeds apart.
_EPOCH_STRIDE = 1_000_003


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """The seed of ``epoch`` (0-based) for a run seeded with ``seed`` (on ``rank``)."""
    return (int(seed) + _EPOCH_STRIDE * (int(epoch) + 1) + 7919 * int(rank)) % (2**31)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed Python, NumPy and torch at the start of every training epoch.

    MMEngine seeds the random generators once, when the Runner is built, and does not store their
    state in checkpoints. A resumed run therefore replays the first epochs' random stream (the IB
    attention and bottleneck noise, dropout, main-process augmentations) from the resume point,
    and its weights drift away from the uninterrupted run. With this hook, every epoch starts
    from ``epoch_seed(seed, epoch)``, so 2 epochs straight and 1 epoch + ``--resume`` + 1 epoch
    give identical weights (with ``randomness=dict(seed=..., deterministic=True)`` and dataloaders
    without persistent workers, whose generators live in the worker processes).

    Add it with ``custom_hooks = [dict(type='EpochSeedHook'), ...]``. It does nothing when the
    Runner has no seed.

    Args:
        diff_rank_seed: give each rank its own stream (as ``randomness.diff_rank_seed``).
    """

    priority = "VERY_HIGH"

    def __init__(self, diff_rank_seed: bool = False) -> None:
        self.diff_rank_seed = diff_rank_seed

    def before_train_epoch(self, runner) -> None:
        """Seed the generators from the run's seed and the epoch about to start."""
        if runner.seed is None:
            return
        rank = get_rank() if self.diff_rank_seed else 0
        seed = epoch_seed(runner.seed, runner.epoch, rank)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)


def _epoch_datasets(dataset) -> list:
    """``dataset`` and the datasets it wraps (MMEngine's Concat/Repeat/ClassBalanced) that have
    a ``set_epoch`` method."""
    found = [dataset] if callable(getattr(dataset, "set_epoch", None)) else []
    for inner in getattr(dataset, "datasets", ()):
        found += _epoch_datasets(inner)
    inner = getattr(dataset, "dataset", None)
    if inner is not None and inner is not dataset:
        found += _epoch_datasets(inner)
    return found


@HOOKS.register_module()
class DatasetEpochHook(Hook):
    """Call ``set_epoch(runner.epoch)`` on the training dataset before every training epoch.

    For datasets whose samples depend on the epoch, such as ``ClutteredMNIST`` with
    ``fresh_clutter=True``. It runs before the epoch's dataloader iterator starts, so the workers
    (persistent ones included) fetch the new epoch's samples when the dataset shares its epoch
    with them; after ``--resume`` it sets the resumed epoch. Datasets inside MMEngine's dataset
    wrappers are reached too.

    Add it with ``custom_hooks = [dict(type='DatasetEpochHook')]``.

    Raises:
        TypeError: when no training dataset has a ``set_epoch`` method.
    """

    priority = "VERY_HIGH"

    def before_train_epoch(self, runner) -> None:
        """Tell the training dataset(s) the epoch about to start."""
        dataset = runner.train_dataloader.dataset
        targets = _epoch_datasets(dataset)
        if not targets:
            raise TypeError(
                f"DatasetEpochHook: the training dataset {type(dataset).__name__} has no "
                "set_epoch method (nor does any dataset it wraps)"
            )
        for target in targets:
            target.set_epoch(runner.epoch)
