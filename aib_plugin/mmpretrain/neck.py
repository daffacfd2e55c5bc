"""``IBAttention``: the IB spatial attention and variational bottleneck as an MMPretrain neck."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from aib_plugin.layers import AttentionOutput, IBLossTerms, IBOptions, mc_average, run_pooled_ib
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
        attention_at: None (default): the attention modulates the backbone output the neck
            reads. A module path of the backbone (e.g. ``'layer4'``): the attention modulates
            that module's input, as the paper places it before the last stage, and the neck
            pools the backbone output, the rear's encoding; ``IBImageClassifier`` splices the
            attention there (``aib_plugin.layers.wrap_stage``) and hands its output to the neck.
            ``in_channels`` is then the channels at that input.
        pooled_channels: with ``attention_at``, the channels of the backbone output the
            bottleneck reads (``IBImageClassifier`` infers it); without, ``in_channels``.
        hidden_channels: width of the light attention head (default ``max(C // 16, 8)``).
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
        **ib_options: the IB options shared with the timm models, documented once in
            :class:`aib_plugin.layers.IBOptions`: ``num_anchors``, ``learn_anchors``,
            ``modulation``, ``kl``, ``mc_samples``, ``beta`` (warm it up with
            ``WarmupParamHook(module_name='neck.objective', param_name='beta')``),
            ``codebook_weight``, ``commitment_weight``, ``area_weight``, ``area_mode``,
            ``area_free``, ``area_gate``, ``initial_attention``, ``head_kernel_size``.

    Raises:
        TypeError: for an option that is neither the neck's nor an IB option.
    """

    def __init__(
        self,
        in_channels: Optional[int] = None,
        bottleneck_dim: int = 256,
        stage_index: int = -1,
        attention_at: Optional[str] = None,
        pooled_channels: Optional[int] = None,
        hidden_channels: Optional[int] = None,
        relu_output: bool = True,
        data_format: str = "auto",
        num_prefix_tokens: Optional[int] = None,
        standalone: bool = False,
        init_cfg: Optional[dict] = None,
        **ib_options: Any,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not standalone:
            raise RuntimeError(
                "IBAttention was built outside an IB-aware model: a stock ImageClassifier (and its "
                "heads) would silently drop the IB loss terms loss_kl / loss_vq / loss_commit. "
                "Use model=dict(type='IBImageClassifier', ...) instead of 'ImageClassifier'."
            )
        options, unknown = IBOptions.split(dict(ib_options, bottleneck_dim=bottleneck_dim))
        if unknown:
            raise TypeError(
                f"IBAttention got unknown options {sorted(unknown)}; its own are in_channels, "
                "bottleneck_dim, stage_index, attention_at, pooled_channels, hidden_channels, "
                "relu_output, data_format, "
                f"num_prefix_tokens, standalone, and the IB options {list(IBOptions.names())}"
            )
        if in_channels is None:
            raise ValueError(
                "IBAttention needs in_channels, the channels of the backbone stage it reads; "
                "IBImageClassifier infers it from the backbone when the neck config leaves it out"
            )
        check_positive_int("in_channels", in_channels)
        if isinstance(stage_index, bool) or not isinstance(stage_index, int):
            raise TypeError(f"stage_index must be an int, got {stage_index!r}")
        if data_format not in DATA_FORMATS:
            raise ValueError(f"data_format must be one of {DATA_FORMATS}, got {data_format!r}")
        if not isinstance(relu_output, bool):
            raise TypeError(f"relu_output must be True or False, got {relu_output!r}")
        if attention_at is not None and not (isinstance(attention_at, str) and attention_at):
            raise TypeError(
                f"attention_at must be a module path of the backbone (e.g. 'layer4'), got "
                f"{attention_at!r}"
            )
        if attention_at is None and pooled_channels not in (None, in_channels):
            raise ValueError(
                f"pooled_channels={pooled_channels} differs from in_channels={in_channels}, but "
                "without attention_at the neck pools the map the attention modulates"
            )
        pooled_channels = in_channels if pooled_channels is None else pooled_channels
        check_positive_int("pooled_channels", pooled_channels)
        self.options = options
        self.in_channels = in_channels
        self.out_channels = bottleneck_dim
        self.stage_index = stage_index
        self.attention_at = attention_at
        self.pooled_channels = pooled_channels
        self.data_format = data_format
        self.num_prefix_tokens = num_prefix_tokens
        self.relu_output = relu_output
        self.attention = options.attention(
            in_channels, options.light_head(in_channels, hidden_channels)
        )
        self.bottleneck = options.bottleneck(pooled_channels)
        # with attention_at, IBImageClassifier moves the attention into the backbone
        self._num_anchors = options.num_anchors
        self.decoder_act = options.decoder(num_classes=0)  # the decoder's ReLU
        self.objective = options.objective()

    @property
    def num_anchors(self) -> Optional[int]:
        """Q, or None without quantization."""
        return self._num_anchors

    def select_stage(
        self,
        inputs: Union[torch.Tensor, Sequence[torch.Tensor]],
        channels: Optional[int] = None,
    ) -> torch.Tensor:
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
        channels = self.in_channels if channels is None else channels
        return to_nchw(inputs[self.stage_index], channels, self.data_format, self.num_prefix_tokens)

    def forward(
        self,
        inputs: Union[torch.Tensor, Sequence[torch.Tensor]],
        attention: Optional[AttentionOutput] = None,
    ) -> IBNeckOutput:
        """Return ``(relu(z),)`` (``(z,)`` without ``relu_output``), shape (B, bottleneck_dim),
        with the IB terms attached.

        Args:
            inputs: the backbone's output tuple.
            attention: with ``attention_at``, what the attention inside the backbone returned
                in this pass (``IBImageClassifier.extract_feat`` collects it); else None.

        Raises:
            RuntimeError: with ``attention_at`` but no ``attention``, or the other way round.
        """
        if self.attention_at is None:
            if attention is not None:
                raise RuntimeError(
                    "IBAttention got an attention output, but it applies its own attention "
                    "(attention_at=None)"
                )
            x = self.select_stage(inputs)
            att, code, terms = run_pooled_ib(x, self.attention, self.bottleneck, self.objective)
        else:
            if attention is None:
                raise RuntimeError(
                    f"IBAttention(attention_at={self.attention_at!r}) needs the output of the "
                    "attention inside the backbone; build the model as IBImageClassifier, whose "
                    "extract_feat collects it"
                )
            x = self.select_stage(inputs, self.pooled_channels)
            att = attention
            code = self.bottleneck(F.adaptive_avg_pool2d(x, 1).flatten(1))
            terms = self.objective(code, att)
        batch = att.attention_mean.shape[0]
        features = self.decoder_act(code.z) if self.relu_output else code.z
        if features.shape[0] != batch:  # Monte-Carlo samples in evaluation
            features = mc_average(features, batch)
        indices = None if att.anchor_indices is None else att.anchor_indices.detach()
        return IBNeckOutput(features, terms, att.attention_mean.detach(), indices)
