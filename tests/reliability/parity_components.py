"""Test-only MMPretrain components for the distributed parity test (imported by the child
processes through ``custom_imports``).

``ParityIBClassifier`` makes a 2-process run comparable to a 1-process run: its norms are
batch-independent (CPU gloo has no SyncBN: ``SyncBatchNorm`` needs a GPU) and the IB noise is
switched off (``sigma = softplus(s - 1e4) = 0``), so any difference comes from how the ranks
combine their losses and gradients. ``ParityProbeHook`` records, per rank, the loss dict of every
iteration and how often the visualizer was asked to draw.
"""

from __future__ import annotations

import json
import os.path as osp

import torch
import torch.nn as nn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS, MODELS
from mmpretrain.utils import get_ori_model

from aib_plugin.mmpretrain import IBImageClassifier

#: Offset that makes ``softplus(s - offset)`` exactly 0 in float32: no IB sampling noise.
NO_NOISE_OFFSET = 1e4


def _batch_free_norms(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.GroupNorm(1, child.num_features))
        else:
            _batch_free_norms(child)


@MODELS.register_module()
class ParityIBClassifier(IBImageClassifier):
    """``IBImageClassifier`` with GroupNorm(1, C) for every BatchNorm2d and no IB noise."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        _batch_free_norms(self)
        self.neck.attention.std_offset = NO_NOISE_OFFSET
        self.neck.bottleneck.std_offset = NO_NOISE_OFFSET


@HOOKS.register_module()
class ParityProbeHook(Hook):
    """Writes ``probe_rank<r>.json`` (per-iteration losses, number of drawn images) and
    ``weights_rank<r>.pth`` (the rank's final weights)."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.losses: list[dict[str, float]] = []
        self.images = 0

    def before_run(self, runner) -> None:
        add_image = runner.visualizer.add_image

        def counting_add_image(*args, **kwargs):
            self.images += 1
            return add_image(*args, **kwargs)

        runner.visualizer.add_image = counting_add_image

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.losses.append({key: float(value) for key, value in outputs.items()})

    def after_run(self, runner) -> None:
        path = osp.join(runner.work_dir, f"probe_rank{get_rank()}.json")
        with open(path, "w") as f:
            json.dump({"losses": self.losses, "images": self.images}, f)
        torch.save(
            get_ori_model(runner.model).state_dict(),
            osp.join(runner.work_dir, f"weights_rank{get_rank()}.pth"),
        )
