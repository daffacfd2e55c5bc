"""The IB core both adapters build from: the shared options, validated once, and the parts.

``IBOptions`` holds every option a timm ``*_aib`` model and the MMPretrain ``IBAttention`` neck
share (one ``mc_samples`` rule, one set of errors) and builds the attention, the bottleneck, the
decoder and the objective from them. ``run_pooled_ib`` runs attention, pooling, bottleneck and
objective on a feature map (the neck's data path); the timm models run the same parts with the
attention inside the backbone, at the input of the module the user names.
"""

from dataclasses import dataclass, fields
from typing import Any, NamedTuple, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._validate import check_positive_int
from .attention_heads import LightAttentionHead
from .bottleneck import BottleneckOutput, VariationalBottleneck
from .decoder import IBDecoder
from .ib_attention import AttentionOutput, IBSpatialAttention
from .ib_loss import (
    DEFAULT_AREA_WEIGHT,
    DEFAULT_BETA,
    DEFAULT_CODEBOOK_WEIGHT,
    DEFAULT_COMMITMENT_WEIGHT,
    IBLossTerms,
    IBObjective,
)


def split_mc_samples(mc_samples: Union[int, tuple[int, int], list]) -> tuple[int, int]:
    """``(attention_samples, code_samples)`` from an int S (S x S) or a pair.

    Raises:
        TypeError: for anything but an int or a pair of ints.
        ValueError: for a count below 1.
    """
    pair = (mc_samples, mc_samples) if isinstance(mc_samples, int) else mc_samples
    if not (
        isinstance(pair, (tuple, list))
        and len(pair) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
    ):
        raise TypeError(
            "mc_samples must be an int or a pair (attention_samples, code_samples) of ints, got "
            f"{mc_samples!r}"
        )
    for n in pair:
        check_positive_int("mc_samples", n)
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True)
class IBOptions:
    """The options of the IB attention, bottleneck and objective (the paper's defaults).

    Args:
        bottleneck_dim: K, the size of z (paper: 256; 512 for its CIFAR WRN).
        num_anchors: Q anchors to quantize the attention to (the ``_qt`` models), or None.
        learn_anchors: train the anchors with the codebook loss (the authors' CIFAR code) or keep
            them at ``linspace(0, 1, Q)`` (False: the authors' CUB code; see ``AnchorQuantizer``).
        modulation: ``'residual'`` (the paper's ``X * (1 + a)``), ``'gate'`` or ``'normalized'``.
        kl: ``'paper'`` (the authors' KL) or ``'vib'`` (textbook).
        mc_samples: evaluation samples: S for S x S (attention x code), or a pair; 1 is the
            deterministic mean, the paper tests with 4.
        beta: weight of the KL term in bits (paper: 0.01).
        codebook_weight: lambda_g (paper: 0.4).
        commitment_weight: lambda_c (paper: 0.1).
        area_weight: lambda_a, a price on the attended area (not the paper's; 0 leaves it out).
        area_mode: ``'mean'``, ``'peak'`` or ``'relative'`` (see ``IBObjective``).
        area_free: the share of the map the area price leaves free (not the paper's; see
            ``IBObjective``).
        area_gate: ``'none'`` or ``'confidence'``: the area price scaled by the classifier's
            confidence on the batch (not the paper's; see ``IBObjective``).
        initial_attention: the attention mean the light head starts around.
        head_kernel_size: the light (or single-conv) head's last kernel.

    Raises:
        ValueError: for a value out of range, naming the option and what was expected.
        TypeError: for a value of the wrong type.
    """

    bottleneck_dim: int = 256
    num_anchors: Optional[int] = None
    learn_anchors: bool = False
    modulation: str = "residual"
    kl: str = "paper"
    mc_samples: Union[int, tuple[int, int]] = 1
    beta: float = DEFAULT_BETA
    codebook_weight: float = DEFAULT_CODEBOOK_WEIGHT
    commitment_weight: float = DEFAULT_COMMITMENT_WEIGHT
    area_weight: float = DEFAULT_AREA_WEIGHT
    area_mode: str = "mean"
    area_free: float = 0.0
    area_gate: str = "none"
    initial_attention: float = 0.5
    head_kernel_size: int = 3

    def __post_init__(self) -> None:
        check_positive_int("bottleneck_dim", self.bottleneck_dim)
        if self.num_anchors is not None:  # the paper uses 20 to 50; None: no quantization
            check_positive_int("num_anchors", self.num_anchors, minimum=2)
        if not isinstance(self.learn_anchors, bool):
            raise TypeError(f"learn_anchors must be True or False, got {self.learn_anchors!r}")
        split_mc_samples(self.mc_samples)
        self.objective()  # validates the weights and the area mode, with their own errors

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, as keyword arguments of the adapters."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def split(cls, kwargs: dict[str, Any]) -> tuple["IBOptions", dict[str, Any]]:
        """The IB options among ``kwargs``, and the other keyword arguments."""
        names = set(cls.names())
        options = cls(**{k: v for k, v in kwargs.items() if k in names})
        return options, {k: v for k, v in kwargs.items() if k not in names}

    @property
    def attention_samples(self) -> int:
        """Attention samples drawn in evaluation."""
        return split_mc_samples(self.mc_samples)[0]

    @property
    def code_samples(self) -> int:
        """Samples of z drawn per attention sample in evaluation."""
        return split_mc_samples(self.mc_samples)[1]

    def light_head(self, in_chs: int, hidden_chs: Optional[int] = None) -> LightAttentionHead:
        """The light attention head for ``in_chs`` channels."""
        return LightAttentionHead(in_chs, hidden_chs, self.initial_attention, self.head_kernel_size)

    def attention(self, in_chs: int, head: nn.Module) -> IBSpatialAttention:
        """The IB spatial attention around ``head``."""
        return IBSpatialAttention(
            in_chs,
            head,
            self.num_anchors,
            self.attention_samples,
            self.modulation,
            self.learn_anchors,
        )

    def bottleneck(self, in_features: int) -> VariationalBottleneck:
        """The variational bottleneck on pooled features of size ``in_features``."""
        return VariationalBottleneck(in_features, self.bottleneck_dim, self.kl, self.code_samples)

    def decoder(self, num_classes: int, hidden_dim: Optional[int] = None) -> IBDecoder:
        """The decoder of z (0 classes: the features before the last Linear)."""
        return IBDecoder(self.bottleneck_dim, num_classes, hidden_dim)

    def objective(self) -> IBObjective:
        """The weighted IB terms."""
        return IBObjective(
            self.beta,
            self.codebook_weight,
            self.commitment_weight,
            self.area_weight,
            self.area_mode,
            self.area_free,
            self.area_gate,
        )


class PooledIB(NamedTuple):
    """One pass of :func:`run_pooled_ib`: the attention, the code and the weighted terms."""

    attention: AttentionOutput
    code: BottleneckOutput
    terms: IBLossTerms


def run_pooled_ib(
    x: torch.Tensor,
    attention: IBSpatialAttention,
    bottleneck: VariationalBottleneck,
    objective: IBObjective,
) -> PooledIB:
    """Attention on the map ``x`` (B, C, H, W), global average pooling, bottleneck, IB terms."""
    att = attention(x)
    pooled = F.adaptive_avg_pool2d(att.modulated, 1).flatten(1)
    code = bottleneck(pooled)
    return PooledIB(att, code, objective(code, att))
