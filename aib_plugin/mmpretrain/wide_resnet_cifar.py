"""``WideResNet_CIFAR``: WRN-d-k for 32x32 inputs (Zagoruyko & Komodakis), the paper's CIFAR net.

MMPretrain ships ImageNet-style wide ResNets (WRN-50-2) but no CIFAR WRN-28-10; this backbone
fills that gap. It returns a tuple of the chosen group outputs (NCHW), as MMPretrain backbones do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS


class _WideBasicBlock(nn.Module):
    """Pre-activation block: BN-ReLU-conv3x3-dropout-BN-ReLU-conv3x3, plus a shortcut."""

    def __init__(self, in_chs: int, out_chs: int, stride: int, drop_rate: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, 1, 1, bias=False)
        self.drop_rate = drop_rate
        self.shortcut = (
            None
            if in_chs == out_chs and stride == 1
            else nn.Conv2d(in_chs, out_chs, 1, stride, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = F.relu(self.bn2(out))
        out = F.dropout(out, p=self.drop_rate, training=self.training)
        return self.conv2(out) + shortcut


@MODELS.register_module()
class WideResNet_CIFAR(BaseBackbone):  # noqa: N801 (MMPretrain's ResNet_CIFAR naming)
    """Wide ResNet WRN-``depth``-``widen_factor`` for CIFAR.

    Args:
        depth: 6n + 4 (28 for WRN-28-10).
        widen_factor: k (10 for WRN-28-10); groups have 16k, 32k, 64k channels.
        drop_rate: dropout between the two convolutions of a block (the paper: 0.3).
        out_indices: groups to return (0, 1, 2); the last one is followed by BN-ReLU.
        init_cfg: MMEngine initialisation config (default: Kaiming for convs, constant BN).
    """

    def __init__(
        self,
        depth: int = 28,
        widen_factor: int = 10,
        drop_rate: float = 0.3,
        out_indices: Sequence[int] = (2,),
        init_cfg: Optional[dict] = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type="Kaiming", layer="Conv2d", mode="fan_out", nonlinearity="relu"),
                dict(type="Constant", val=1, layer="BatchNorm2d"),
            ]
        super().__init__(init_cfg=init_cfg)
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(f"WideResNet_CIFAR depth must be 6n + 4 (e.g. 28), got {depth}")
        blocks = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2, -1, -2, -3) for i in out_indices):
            raise ValueError(f"out_indices must be in (0, 1, 2), got {out_indices}")
        self.out_indices = tuple(i % 3 for i in out_indices)
        self.out_channels = widths
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        in_chs = 16
        self.groups = nn.ModuleList()
        for index, width in enumerate(widths):
            stride = 1 if index == 0 else 2
            layers = []
            for block in range(blocks):
                layers.append(
                    _WideBasicBlock(in_chs, width, stride if block == 0 else 1, drop_rate)
                )
                in_chs = width
            self.groups.append(nn.Sequential(*layers))
        self.final_bn = nn.BatchNorm2d(in_chs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the outputs of the groups in ``out_indices``."""
        x = self.stem(x)
        outs = []
        for index, group in enumerate(self.groups):
            x = group(x)
            if index == 2:
                x = F.relu(self.final_bn(x))
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)
