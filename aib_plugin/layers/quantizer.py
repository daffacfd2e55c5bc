"""Anchor quantization of attention values (the "_qt" models of the paper).

Each attention value is replaced by its nearest learnable scalar anchor. The forward value is the
anchor, the gradient flows straight through to the attention, and the anchors learn from a
codebook loss while the attention is pulled towards them by a commitment loss (VQ-VAE style).

The anchors are either learnable (``learnable=True``: a parameter trained by the codebook loss,
the authors' CIFAR code, at 1e-4 times the base learning rate) or frozen at their initial values
(``learnable=False``: a buffer, no codebook loss, the authors' CUB code). The adapters freeze them
by default: the task loss gives the anchors no gradient (the forward value is the anchor, its
gradient goes straight through to the attention), so under timm's contract that every parameter
gets a gradient from ``output.mean().backward()`` a learnable anchor is a parameter the model's
output does not train; and at 1e-4 times the learning rate the authors' CIFAR anchors barely move.
"""

from typing import NamedTuple, Optional

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from ._validate import check_floating, check_non_negative, check_positive_int

torch.fx.wrap("check_floating")

#: The paper trains anchors with this fraction of the base learning rate.
ANCHOR_LR_RATIO = 1e-4


class QuantizerOutput(NamedTuple):
    """What :class:`AnchorQuantizer` returns.

    Attributes:
        quantized: values replaced by their nearest anchor, straight-through gradient to the input.
        codebook_loss: unweighted ``mse(anchor, input.detach())``; trains the anchors (None when
            they are frozen).
        commitment_loss: unweighted ``mse(input, anchor.detach())``; pulls the input to the anchors.
        indices: index of the nearest anchor for each value (int64, same shape as the input).
    """

    quantized: torch.Tensor
    codebook_loss: Optional[torch.Tensor]
    commitment_loss: torch.Tensor
    indices: torch.Tensor


class AnchorUsage(NamedTuple):
    """How the anchors are used by a batch of assignments; collapse shows as few active anchors.

    Attributes:
        counts: number of values assigned to each anchor, shape ``(Q,)``.
        active: number of anchors with at least one value.
        perplexity: ``exp(entropy)`` of the assignment histogram, between 1 and Q.
    """

    counts: torch.Tensor
    active: int
    perplexity: float


class AnchorQuantizer(nn.Module):
    """Nearest-anchor quantizer with Q scalar anchors, learnable or frozen.

    Args:
        num_anchors: number of anchors Q (the paper finds 20 to 50 works best); at least 2.
        init_range: ``(low, high)``; anchors start at ``linspace(low, high, Q)``.
        anchor_lr_ratio: learning-rate multiplier the paper uses for the anchors
            (see :func:`aib_plugin.layers.ib_param_groups`).
        learnable: anchors are a parameter trained by the codebook loss (True) or a buffer kept
            at ``linspace(low, high, Q)`` with no codebook loss (False).
        device: device of the anchors.
        dtype: dtype of the anchors.
    """

    def __init__(
        self,
        num_anchors: int = 20,
        init_range: tuple[float, float] = (0.0, 1.0),
        anchor_lr_ratio: float = ANCHOR_LR_RATIO,
        learnable: bool = True,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_positive_int("num_anchors", num_anchors, minimum=2)
        self.num_anchors = num_anchors
        self.anchor_lr_ratio = check_non_negative("anchor_lr_ratio", anchor_lr_ratio)
        if (
            not isinstance(init_range, (tuple, list))
            or len(init_range) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in init_range)
        ):
            raise TypeError(f"init_range must be a pair of numbers (low, high), got {init_range!r}")
        low, high = float(init_range[0]), float(init_range[1])
        if not high > low:
            raise ValueError(f"init_range must be (low, high) with high > low, got {init_range!r}")
        self.init_range = (low, high)
        if not isinstance(learnable, bool):
            raise TypeError(f"learnable must be True or False, got {learnable!r}")
        self.learnable = learnable
        anchors = torch.empty(num_anchors, device=device, dtype=dtype)
        if learnable:
            self.anchors = nn.Parameter(anchors)
        else:
            self.register_buffer("anchors", anchors)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Place the anchors evenly over ``init_range``."""
        with torch.no_grad():
            low, high = self.init_range
            self.anchors.copy_(torch.linspace(low, high, self.num_anchors))

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Return the index of the nearest anchor for every value of ``x``."""
        anchors = self.anchors.to(x.dtype)
        distance = (x.detach().unsqueeze(-1) - anchors.detach()).abs()
        return distance.argmin(dim=-1)

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        """Quantize ``x`` (any shape, floating point) to its nearest anchors."""
        check_floating(x, "AnchorQuantizer")
        indices = self.assign(x)
        anchor_values = self.anchors.to(x.dtype)[indices]
        codebook_loss: Optional[torch.Tensor] = None
        if self.learnable:
            codebook_loss = F.mse_loss(anchor_values.float(), x.detach().float())
        commitment_loss = F.mse_loss(x.float(), anchor_values.detach().float())
        quantized = x + (anchor_values - x).detach()
        return QuantizerOutput(quantized, codebook_loss, commitment_loss, indices)

    def usage(self, indices: torch.Tensor) -> AnchorUsage:
        """Summarise how often each anchor was chosen in ``indices`` (from :meth:`forward`)."""
        return anchor_usage(indices, self.num_anchors)

    def extra_repr(self) -> str:
        return (
            f"num_anchors={self.num_anchors}, init_range={self.init_range}, "
            f"learnable={self.learnable}"
        )


def anchor_usage(indices: torch.Tensor, num_anchors: int) -> AnchorUsage:
    """Histogram, active count and perplexity of anchor assignments.

    Args:
        indices: anchor indices, any shape, values in ``[0, num_anchors)``.
        num_anchors: Q.

    Returns:
        The :class:`AnchorUsage` of the assignments.
    """
    check_positive_int("num_anchors", num_anchors, minimum=2)
    counts = torch.bincount(indices.detach().flatten().cpu(), minlength=num_anchors).float()
    total = counts.sum()
    if total == 0:
        return AnchorUsage(counts, 0, 0.0)
    probs = counts / total
    nonzero = probs[probs > 0]
    entropy = -(nonzero * nonzero.log()).sum()
    return AnchorUsage(counts, int((counts > 0).sum()), float(entropy.exp()))
