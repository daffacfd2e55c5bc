"""``IBAttention``: the IB spatial attention and variational bottleneck as an MMPretrain neck."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from aib_plugin.layers import (
    DEFAULT_AREA_WEIGHT,
    DEFAULT_BETA,
    DEFAULT_CODEBOOK_WEIGHT,
    DEFAULT_COMMITMENT_WEIGHT,
    IBDecoder,
    IBLossTerms,
    IBObjective,
    IBSpatialAttention,
    LightAttentionHead,
    VariationalBottleneck,
    mc_average,
)
from aib_plugin.layers._validate import check_positive_int

from .layout import DATA_FORMATS, to_nchw


class IBNeckOutput(tuple):
    """``(features,)``, as every MMPretrain neck returns, carrying what the pass produced.

    Attributes:
        ib_terms: the weighted IB loss terms (:class:`aib_plugin.layers.IBLossTerms`).
        attention_map: the attention mean ``mu_a``, (B, 1, H, W), detached: what users look at.
        anchor_indices: the nearest-anchor index of each (sampled) attention value, or None.
    """

    ib_terms: IBLossTerms
    attention_map: torch.Tensor
    anchor_indices: Optional[torch.Tensor]

    def __new__(
        cls,
        features: torch.Tensor,
        ib_terms: IBLossTerms,
        attention_map: torch.Tensor,
        anchor_indices: Optional[torch.Tensor] = None,
    ) -> IBNeckOutput:
        obj = super().__new__(cls, (features,))
        obj.ib_terms = ib_terms
        obj.attention_map = attention_map
        obj.anchor_indices = anchor_indices
        return obj


def _mc_pair(mc_samples: Union[int, Sequence[int]]) -> tuple[int, int]:
    if isinstance(mc_samples, int) and not isinstance(mc_samples, bool):
        return mc_samples, mc_samples
    if isinstance(mc_samples, Sequence) and len(mc_samples) == 2:
        return int(mc_samples[0]), int(mc_samples[1])
    raise ValueError(
        f"mc_samples must be an int S (S attention x S code samples) or a pair "
        f"(attention_samples, code_samples), got {mc_samples!r}"
    )


@MODELS.register_module()
class IBAttention(BaseModule):
    """Information Bottleneck spatial attention neck (Lai et al., IJCAI 2021).

    Takes the backbone's output tuple, picks one stage, applies
    :class:`~aib_plugin.layers.IBSpatialAttention` (``X * (1 + a)``), global average pooling and
    a :class:`~aib_plugin.layers.VariationalBottleneck`, and returns ``(relu(z),)``: the input of
    the paper's decoder, so a linear head (e.g. ``LinearClsHead`` with ``in_channels`` equal to
    ``bottleneck_dim``) is exactly the paper's ``ReLU -> Linear`` decoder. In evaluation it is
    deterministic unless ``mc_samples`` asks for Monte-Carlo samples, which it averages here
    (for a linear head this equals averaging the logits, as the paper does).

    The IB loss terms (``loss_kl``, ``loss_vq``, ``loss_commit``) and the attention map ride on
    the output (:class:`IBNeckOutput`) and reach the loss dict and the predictions through
    ``IBImageClassifier``, which builds the neck with ``standalone=True``. Built any other way
    (a stock ``ImageClassifier`` would drop the terms silently) it raises, unless
    ``standalone=True`` says that the caller reads ``ib_terms`` itself.

    Args:
        in_channels: channels (or embedding size) of the chosen backbone stage; left out,
            ``IBImageClassifier`` infers it from the backbone (and logs what it found).
        bottleneck_dim: K, the size of z (paper: 256; 512 for its CIFAR WRN).
        stage_index: which element of the backbone's output tuple to use (default: last).
        num_anchors: Q anchors for the quantized (``_qt``) variant, at least 2; None disables.
        learn_anchors: train the anchors with the codebook loss (``loss_vq``, the authors' CIFAR
            code; give them ``lr_mult=1e-4`` in ``paramwise_cfg`` as the paper does) or keep them
            at ``linspace(0, 1, Q)`` (False, the default: the authors' CUB code).
        hidden_channels: width of the light attention head (default ``max(C // 16, 8)``).
        initial_attention: the attention mean the light head starts around (0.5: PyTorch's
            default initialisation).
        head_kernel_size: the light head's last conv kernel (3; 1 makes each position's
            attention depend on its own features only, see ``LightAttentionHead``).
        modulation: ``'residual'`` (the paper's ``X * (1 + a)``), ``'gate'`` (``X * a``) or
            ``'normalized'`` (``X * a / mean(a)``); see ``aib_plugin.layers.IBSpatialAttention``.
        kl: ``'paper'`` (the authors' KL) or ``'vib'`` (textbook); see ``aib_plugin.layers``.
        beta: weight of the KL term in bits (paper: 0.01). Warm it up with ``WarmupParamHook``
            (``module_name='neck.objective'``, ``param_name='beta'``).
        codebook_weight: lambda_g (paper: 0.4).
        commitment_weight: lambda_c (paper: 0.1).
        area_weight: lambda_a, weight of the attended area ``mean(mu_a)`` (``loss_area``); not
            in the paper, 0 (default) leaves it out; docs/experiments/digits_config_additions.md
            measures it.
        area_mode: ``'mean'`` (the area), ``'peak'`` (plus ``1 - max(mu_a)`` per map, so
            no map falls to zero everywhere) or ``'relative'`` (each map's area over its peak:
            the map cannot fade); see ``aib_plugin.layers.IBObjective``.
        mc_samples: evaluation samples: S for S x S (attention x code), or a pair. 1 is the
            deterministic mean; the paper tests with 4 (16 samples).
        relu_output: return ``relu(z)`` (True: a linear head then is the paper's ``ReLU ->
            Linear`` decoder) or z itself (False: for a head that starts with the decoder's
            ``Linear(K, K)``, e.g. ``StackedLinearClsHead(mid_channels=[K])``, the authors' CUB
            and CIFAR-VGG decoder). Monte-Carlo samples are averaged here, before the head, so
            with a non-linear head they average z, not the logits as the paper does.
        data_format: ``'auto'``, ``'NCHW'``, ``'NHWC'`` (timm Swin) or ``'NLC'`` (ViT tokens).
        num_prefix_tokens: class/register tokens to drop from ``'NLC'`` input (None: infer).
        standalone: allow building outside an IB-aware model, for code that calls the neck
            itself and adds the output's ``ib_terms`` to its loss. MMPretrain's
            ``ImageClassifier`` refuses the neck even so (it would drop the terms).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(
        self,
        in_channels: Optional[int] = None,
        bottleneck_dim: int = 256,
        stage_index: int = -1,
        num_anchors: Optional[int] = None,
        learn_anchors: bool = False,
        hidden_channels: Optional[int] = None,
        initial_attention: float = 0.5,
        head_kernel_size: int = 3,
        modulation: str = "residual",
        kl: str = "paper",
        beta: float = DEFAULT_BETA,
        codebook_weight: float = DEFAULT_CODEBOOK_WEIGHT,
        commitment_weight: float = DEFAULT_COMMITMENT_WEIGHT,
        area_weight: float = DEFAULT_AREA_WEIGHT,
        area_mode: str = "mean",
        mc_samples: Union[int, Sequence[int]] = 1,
        relu_output: bool = True,
        data_format: str = "auto",
        num_prefix_tokens: Optional[int] = None,
        standalone: bool = False,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not standalone:
            raise RuntimeError(
                "IBAttention was built outside an IB-aware model: a stock ImageClassifier (and its "
                "heads) would silently drop the IB loss terms loss_kl / loss_vq / loss_commit. "
                "Use model=dict(type='IBImageClassifier', ...) instead of 'ImageClassifier'."
            )
        if in_channels is None:
            raise ValueError(
                "IBAttention needs in_channels, the channels of the backbone stage it reads; "
                "IBImageClassifier infers it from the backbone when the neck config leaves it out"
            )
        check_positive_int("in_channels", in_channels)
        if isinstance(stage_index, bool) or not isinstance(stage_index, int):
            raise TypeError(f"stage_index must be an int, got {stage_index!r}")
        if num_anchors is not None and (
            isinstance(num_anchors, bool) or not isinstance(num_anchors, int) or num_anchors < 2
        ):
            raise ValueError(
                f"IBAttention num_anchors={num_anchors!r}: anchor quantization needs an int Q >= 2 "
                "(the paper uses 20 to 50); use num_anchors=None for no quantization"
            )
        if data_format not in DATA_FORMATS:
            raise ValueError(f"data_format must be one of {DATA_FORMATS}, got {data_format!r}")
        attention_samples, code_samples = _mc_pair(mc_samples)
        self.in_channels = in_channels
        self.out_channels = bottleneck_dim
        self.stage_index = stage_index
        self.data_format = data_format
        self.num_prefix_tokens = num_prefix_tokens
        self.attention = IBSpatialAttention(
            in_channels,
            head=LightAttentionHead(
                in_channels, hidden_channels, initial_attention, head_kernel_size
            ),
            num_anchors=num_anchors,
            mc_samples=attention_samples,
            modulation=modulation,
            learn_anchors=learn_anchors,
        )
        self.bottleneck = VariationalBottleneck(
            in_channels, bottleneck_dim, kl=kl, mc_samples=code_samples
        )
        if not isinstance(relu_output, bool):
            raise TypeError(f"relu_output must be True or False, got {relu_output!r}")
        self.relu_output = relu_output
        self.decoder_act = IBDecoder(bottleneck_dim, num_classes=0)  # the decoder's ReLU
        self.objective = IBObjective(
            beta, codebook_weight, commitment_weight, area_weight, area_mode
        )

    @property
    def num_anchors(self) -> Optional[int]:
        """Q, or None without quantization."""
        quantizer = self.attention.quantizer
        return None if quantizer is None else quantizer.num_anchors

    def select_stage(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """Pick the configured stage from the backbone output and return it as NCHW.

        Raises:
            IndexError: if ``stage_index`` is outside the backbone's output tuple.
            ValueError: if the stage's shape does not fit ``in_channels`` / ``data_format``.
        """
        if isinstance(inputs, torch.Tensor):
            inputs = (inputs,)
        if not isinstance(inputs, Sequence):
            raise TypeError(
                f"IBAttention expects a tuple of backbone outputs, got {type(inputs).__name__}"
            )
        if not -len(inputs) <= self.stage_index < len(inputs):
            raise IndexError(
                f"IBAttention stage_index={self.stage_index} is out of range: the backbone returns "
                f"{len(inputs)} output(s); use an index in [{-len(inputs)}, {len(inputs) - 1}] or "
                "add the stage to the backbone's out_indices"
            )
        return to_nchw(
            inputs[self.stage_index], self.in_channels, self.data_format, self.num_prefix_tokens
        )

    def forward(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> IBNeckOutput:
        """Return ``(relu(z),)`` (``(z,)`` without ``relu_output``), shape (B, bottleneck_dim),
        with the IB terms attached."""
        x = self.select_stage(inputs)
        batch = x.shape[0]
        att = self.attention(x)
        pooled = F.adaptive_avg_pool2d(att.modulated, 1).flatten(1)
        code = self.bottleneck(pooled)
        features = self.decoder_act(code.z) if self.relu_output else code.z
        if features.shape[0] != batch:  # Monte-Carlo samples in evaluation
            features = mc_average(features, batch)
        terms = self.objective(code, att)
        indices = None if att.anchor_indices is None else att.anchor_indices.detach()
        return IBNeckOutput(features, terms, att.attention_mean.detach(), indices)
