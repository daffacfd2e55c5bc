"""The IB spatial attention: a variational attention map that modulates a feature map.

Data path (the paper's steps 1 to 5; docs/paper_fidelity.md)::

    mu_a    = sigmoid(head(X))                    attention mean, (B, 1, H, W)
    sigma_a = softplus(conv3x3(mu_a) - 5)         attention std
    a       = mu_a + eps * sigma_a                training (one sample)
            = mu_a                                evaluation, mc_samples == 1 (deterministic)
            = mu_a + eps * sigma_a, S times       evaluation, mc_samples == S > 1
    a_q     = nearest anchor of a                 only with num_anchors (straight-through)
    R       = X * (1 + a_q)                       residual modulation (default), never clipped
            = X * a_q                             modulation='gate' (an option, not the paper's)
            = X * a+ / mean_hw(a+), a+ = max(a_q, 0)  modulation='normalized' (an option): a gate
                                                  whose gains average 1 over the map, so pooling
                                                  R is the attention-weighted mean of X

Samples are stacked sample-major along the batch: output row ``s * B + b`` is sample ``s`` of
input ``b`` (see :func:`aib_plugin.layers.mc_average`).
"""

from typing import NamedTuple, Optional, Union

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from ._validate import check_feature_map, check_positive_int
from .attention_heads import LightAttentionHead
from .quantizer import AnchorQuantizer

torch.fx.wrap("check_feature_map")

#: Offset inside the softplus of every std of the method (``softplus(s - 5)``).
STD_OFFSET = 5.0

#: How the attention modulates X: the paper's residual ``X * (1 + a)``, a gate ``X * a``, or a
#: normalized gate ``X * a / mean(a)`` (global pooling after it is attention-weighted pooling).
MODULATIONS = ("residual", "gate", "normalized")

#: Floor of ``mean(a)`` in the normalized gate (a map of all zeros then removes X).
NORMALIZED_GATE_EPS = 1e-6


class AttentionOutput(NamedTuple):
    """What :class:`IBSpatialAttention` returns.

    Attributes:
        modulated: ``X * (1 + a_q)``, shape (S * B, C, H, W) with S samples (S = 1 in training).
        attention_mean: the deterministic map ``mu_a``, shape (B, 1, H, W); what users look at.
        attention: the (sampled, quantized) map that modulated X, shape (S * B, 1, H, W).
        codebook_loss: unweighted codebook loss, or None without anchors or with frozen ones.
        commitment_loss: unweighted commitment loss, or None without anchors.
        anchor_indices: nearest-anchor index per attention value, or None without anchors.
    """

    modulated: torch.Tensor
    attention_mean: torch.Tensor
    attention: torch.Tensor
    codebook_loss: Optional[torch.Tensor]
    commitment_loss: Optional[torch.Tensor]
    anchor_indices: Optional[torch.Tensor]


class IBSpatialAttention(nn.Module):
    """Variational spatial attention with optional anchor quantization.

    Args:
        in_chs: channels of the feature map X.
        head: ``'light'`` for :class:`LightAttentionHead`, or any module mapping (B, in_chs, H, W)
            to attention logits (B, 1, H, W), e.g. a :class:`PaperAttentionHead`.
        num_anchors: Q anchors to quantize the attention to (the paper's "_qt" models use 20
            to 50), or None for no quantization.
        learn_anchors: train the anchors with the codebook loss (the authors' CIFAR code), or
            keep them at ``linspace(0, 1, Q)`` (False, the default: the authors' CUB code; see
            :class:`AnchorQuantizer`).
        mc_samples: attention samples drawn in evaluation; 1 means the deterministic mean.
        modulation: ``'residual'`` (the paper: ``X * (1 + a)``), ``'gate'`` (``X * a``: what the
            map does not select is removed, so the map must find the object), or
            ``'normalized'`` (``X * a / mean(a)`` per image, negative samples clipped to 0: only
            where the map points counts, not how much it attends; see
            projects/aib_studies/experiments/variants.md).
        device: device of the parameters.
        dtype: dtype of the parameters.
    """

    def __init__(
        self,
        in_chs: int,
        head: Union[str, nn.Module] = "light",
        num_anchors: Optional[int] = None,
        mc_samples: int = 1,
        modulation: str = "residual",
        learn_anchors: bool = False,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_positive_int("in_chs", in_chs)
        check_positive_int("mc_samples", mc_samples)
        if modulation not in MODULATIONS:
            raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
        self.modulation = modulation
        dd = {"device": device, "dtype": dtype}
        self.in_chs = in_chs
        self.mc_samples = mc_samples
        if isinstance(head, nn.Module):
            self.head = head
        elif head == "light":
            self.head = LightAttentionHead(in_chs, **dd)
        else:
            raise ValueError(
                f"head must be 'light' or an nn.Module producing (B, 1, H, W) logits, got {head!r}"
            )
        self.std_offset = STD_OFFSET
        self.std_conv = nn.Conv2d(1, 1, 3, padding=1, **dd)
        self.quantizer = (
            None
            if num_anchors is None
            else AnchorQuantizer(num_anchors, learnable=learn_anchors, device=device, dtype=dtype)
        )

    def attention_mean(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``mu_a = sigmoid(head(x))``, shape (B, 1, H, W)."""
        check_feature_map(x, self.in_chs, "IBSpatialAttention")
        return torch.sigmoid(self.head(x))

    def forward(self, x: torch.Tensor) -> AttentionOutput:
        """Sample, quantize and apply the attention to ``x`` (B, in_chs, H, W)."""
        mu = self.attention_mean(x)
        num_samples = 1 if self.training else self.mc_samples
        if self.training or num_samples > 1:
            sigma = F.softplus(self.std_conv(mu) - self.std_offset)
            mu_rep = mu.repeat(num_samples, 1, 1, 1)
            sigma_rep = sigma.repeat(num_samples, 1, 1, 1)
            attention = mu_rep + torch.randn_like(mu_rep) * sigma_rep
        else:
            attention = mu
        codebook_loss: Optional[torch.Tensor] = None
        commitment_loss: Optional[torch.Tensor] = None
        anchor_indices: Optional[torch.Tensor] = None
        if self.quantizer is not None:
            quantized = self.quantizer(attention)
            attention = quantized.quantized
            codebook_loss = quantized.codebook_loss
            commitment_loss = quantized.commitment_loss
            anchor_indices = quantized.indices
        x_rep = x.repeat(num_samples, 1, 1, 1) if num_samples > 1 else x
        modulated = x_rep * self._gain(attention).to(x_rep.dtype)
        return AttentionOutput(
            modulated, mu, attention, codebook_loss, commitment_loss, anchor_indices
        )

    def _gain(self, attention: torch.Tensor) -> torch.Tensor:
        if self.modulation == "residual":
            return 1.0 + attention
        if self.modulation == "gate":
            return attention
        positive = attention.float().clamp_min(0.0)
        # 1e-6: NORMALIZED_GATE_EPS (a literal for TorchScript)
        return positive / positive.mean(dim=(2, 3), keepdim=True).clamp_min(1e-6)

    def extra_repr(self) -> str:
        return f"in_chs={self.in_chs}, mc_samples={self.mc_samples}, modulation={self.modulation}"
