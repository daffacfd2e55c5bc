"""Heads that map a feature map (B, C, H, W) to attention logits (B, 1, H, W).

``sigmoid`` of these logits is the attention mean ``mu_a`` of the IB spatial attention.
"""

import copy
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._validate import check_positive_int


def _check_odd_kernel(kernel_size: int) -> None:
    check_positive_int("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(
            f"kernel_size must be odd (the map keeps the feature map's size), got {kernel_size}"
        )


class LightAttentionHead(nn.Module):
    """Cheap attention head: 1x1 conv reduce, BN, ReLU, kxk conv to one channel, BN.

    Args:
        in_chs: channels of the input feature map.
        hidden_chs: channels after the 1x1 reduction (default ``max(in_chs // 16, 8)``).
        initial_attention: the attention mean ``sigmoid(logit)`` the head starts around (the
            last BN's bias is set to its logit); 0.5 is PyTorch's default initialisation.
        kernel_size: k, the last conv's odd kernel size (default 3). With 1 the attention at a
            position depends on that position's features only, so the head cannot learn to
            light a cell beside the one whose features carry the object.
        device: device of the parameters.
        dtype: dtype of the parameters.
    """

    def __init__(
        self,
        in_chs: int,
        hidden_chs: Optional[int] = None,
        initial_attention: float = 0.5,
        kernel_size: int = 3,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_positive_int("in_chs", in_chs)
        hidden_chs = max(in_chs // 16, 8) if hidden_chs is None else hidden_chs
        check_positive_int("hidden_chs", hidden_chs)
        _check_odd_kernel(kernel_size)
        dd = {"device": device, "dtype": dtype}
        self.reduce = nn.Conv2d(in_chs, hidden_chs, 1, bias=False, **dd)
        self.bn_reduce = nn.BatchNorm2d(hidden_chs, **dd)
        self.act = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(
            hidden_chs, 1, kernel_size, padding=kernel_size // 2, bias=False, **dd
        )
        self.bn = nn.BatchNorm2d(1, **dd)
        if not 0.0 < float(initial_attention) < 1.0:
            raise ValueError(
                f"initial_attention must be in (0, 1) (a sigmoid output), got {initial_attention!r}"
            )
        self.initial_attention = float(initial_attention)
        nn.init.constant_(self.bn.bias, math.log(initial_attention / (1.0 - initial_attention)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return attention logits of shape (B, 1, H, W)."""
        return self.bn(self.conv(self.act(self.bn_reduce(self.reduce(x)))))


class ConvAttentionHead(nn.Module):
    """One kxk conv (with bias) to one channel: the attention head of the authors' CIFAR VGG code.

    Args:
        in_chs: channels of the input feature map.
        kernel_size: odd kernel size k (the authors: 3).
        device: device of the parameters.
        dtype: dtype of the parameters.
    """

    def __init__(
        self,
        in_chs: int,
        kernel_size: int = 3,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_positive_int("in_chs", in_chs)
        _check_odd_kernel(kernel_size)
        self.conv = nn.Conv2d(
            in_chs, 1, kernel_size, padding=kernel_size // 2, device=device, dtype=dtype
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return attention logits of shape (B, 1, H, W)."""
        return self.conv(x)


class PaperAttentionHead(nn.Module):
    """The paper's (Attention Branch Network style) head around a copy of the rear stage.

    ``stage`` (a stride-1 copy of the backbone's rear stage, see :func:`stride_one_copy`), BN,
    1x1 conv to ``num_classes`` channels, BN, ReLU, 3x3 conv to one channel, BN. The result is
    resized to the input's spatial size if the stage changed it.

    Args:
        stage: the module to run first; it is used as given (copy it before passing it in).
        stage_out_chs: channels that ``stage`` produces.
        num_classes: channels of the intermediate class map (the paper uses the class count).
        device: device of the new parameters.
        dtype: dtype of the new parameters.
    """

    def __init__(
        self,
        stage: nn.Module,
        stage_out_chs: int,
        num_classes: int,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        if not isinstance(stage, nn.Module):
            raise TypeError(f"stage must be an nn.Module, got {type(stage).__name__}")
        check_positive_int("stage_out_chs", stage_out_chs)
        check_positive_int("num_classes", num_classes)
        dd = {"device": device, "dtype": dtype}
        self.stage = stage
        self.bn_stage = nn.BatchNorm2d(stage_out_chs, **dd)
        self.class_conv = nn.Conv2d(stage_out_chs, num_classes, 1, bias=False, **dd)
        self.bn_class = nn.BatchNorm2d(num_classes, **dd)
        self.act = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_classes, 1, 3, padding=1, bias=False, **dd)
        self.bn = nn.BatchNorm2d(1, **dd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return attention logits of shape (B, 1, H, W) for an input (B, C, H, W)."""
        y = self.bn_stage(self.stage(x))
        y = self.bn(self.conv(self.act(self.bn_class(self.class_conv(y)))))
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y


def stride_one_copy(module: nn.Module) -> nn.Module:
    """Deep-copy ``module`` with every stride of its convolutions and poolings set to 1.

    Used to build the paper's attention head from the rear stage, so the attention map keeps the
    resolution of the stage's input. Parameters are copied, not shared.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    copied = copy.deepcopy(module)
    for sub in copied.modules():
        if isinstance(sub, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            sub.stride = (1,) * len(sub.stride)
        elif isinstance(sub, (nn.AvgPool2d, nn.MaxPool2d)):
            if sub.kernel_size == sub.stride:  # a pure downsampling pool becomes the identity
                sub.kernel_size = 1
                sub.padding = 0
            sub.stride = 1
    return copied
