"""``IBAttention``: the IB spatial attention and variational bottleneck as an MMPretrain neck."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from aib_plugin.layers import (
    AttentionOutput,
    IBLossTerms,
    IBOptions,
    IBSpatialAttention,
    mc_average,
    run_pooled_ib,
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


#: IBAttention's own arguments; every other key of its config is an IB option
NECK_ARGUMENTS = (
    "in_channels",
    "bottleneck_dim",
    "stage_index",
    "pooled_channels",
    "hidden_channels",
    "relu_output",
    "data_format",
    "num_prefix_tokens",
    "with_attention",
    "init_cfg",
)


def split_ib_options(ib_options: dict[str, Any]) -> IBOptions:
    """The :class:`~aib_plugin.layers.IBOptions` of an IBAttention's IB options (with
    ``bottleneck_dim``).

    Raises:
        TypeError: for an option that is neither the neck's nor an IB option.
    """
    options, unknown = IBOptions.split(ib_options)
    if unknown:
        raise TypeError(
            f"IBAttention got unknown options {sorted(unknown)}; its own are "
            f"{', '.join(NECK_ARGUMENTS)}, and the IB options {list(IBOptions.names())}"
        )
    return options


def new_attention(
    options: IBOptions, in_channels: int, hidden_channels: Optional[int] = None
) -> IBSpatialAttention:
    """A new IB attention (light head and attention) for ``in_channels`` channels."""
    head = options.light_head(in_channels, hidden_channels)
    return options.attention(in_channels, head)


def attention_from_config(config: dict[str, Any]) -> IBSpatialAttention:
    """A new IB attention with the options of an IBAttention config (``in_channels`` set).

    ``IBImageClassifier(attention_at=...)`` builds it before the neck, so the attention draws
    its initial weights before the bottleneck, as when the neck held it.
    """
    ib_options = {
        key: value
        for key, value in config.items()
        if key == "bottleneck_dim" or key not in NECK_ARGUMENTS + ("type", "standalone")
    }
    options = split_ib_options(ib_options)
    check_positive_int("in_channels", config.get("in_channels"))
    return new_attention(options, config["in_channels"], config.get("hidden_channels"))


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

    :meth:`forward_ib` returns the features with the IB loss terms (``loss_kl``, ``loss_vq``,
    ``loss_commit``) and the attention map (:class:`IBNeckOutput`); ``IBImageClassifier`` calls
    it and adds the terms to the loss dict. A plain ``neck(x)`` call, as MMPretrain's stock
    ``ImageClassifier`` makes, returns the features alone: fine in evaluation, but in a training
    forward it raises, since its caller would train without the IB terms.

    Where the attention sits is the classifier's choice (``IBImageClassifier(attention_at=...)``):
    by default the neck applies it to the stage it reads; placed inside the backbone (the
    paper's placement, before the last stage), the neck is built with ``with_attention=False``
    and :meth:`forward_ib` receives what the attention returned in that pass.

    Args:
        in_channels: channels (or embedding size) of the map the attention modulates: the
            chosen backbone stage, or with the attention in the backbone the input of its
            module; left out, ``IBImageClassifier`` infers it (and logs what it found).
        bottleneck_dim: K, the size of z (paper: 256; 512 for its CIFAR WRN).
        stage_index: which element of the backbone's output tuple to use (default: last).
        pooled_channels: channels of the backbone stage the bottleneck pools; differs from
            ``in_channels`` only with the attention in the backbone (``IBImageClassifier``
            infers it).
        hidden_channels: width of the light attention head (default ``max(C // 16, 8)``).
        relu_output: return ``relu(z)`` (True: a linear head then is the paper's ``ReLU ->
            Linear`` decoder) or z itself (False: for a head that starts with the decoder's
            ``Linear(K, K)``, e.g. ``StackedLinearClsHead(mid_channels=[K])``, the authors' CUB
            and CIFAR-VGG decoder). Monte-Carlo samples are averaged here, before the head, so
            with a non-linear head they average z, not the logits as the paper does.
        data_format: ``'auto'``, ``'NCHW'``, ``'NHWC'`` (timm Swin) or ``'NLC'`` (ViT tokens).
        num_prefix_tokens: class/register tokens to drop from ``'NLC'`` input (None: infer).
        with_attention: True (default): the neck holds and applies the attention. False: the
            attention sits upstream (``IBImageClassifier`` builds it with
            :func:`attention_from_config`, or :meth:`build_attention` for a built neck, and
            places it in the backbone).
        init_cfg: MMEngine initialisation config.
        **ib_options: the IB options shared with the timm models, documented once in
            :class:`aib_plugin.layers.IBOptions`: ``num_anchors``, ``learn_anchors``,
            ``modulation``, ``kl``, ``mc_samples``, ``beta`` (warm it up with
            ``WarmupParamHook(module_name='neck.objective', param_name='beta')``),
            ``codebook_weight``, ``commitment_weight``, ``area_weight``, ``area_mode``,
            ``area_free``, ``area_gate``, ``initial_attention``, ``head_kernel_size``.
            ``standalone`` (no longer needed) is accepted with a ``DeprecationWarning``.

    Raises:
        TypeError: for an option that is neither the neck's nor an IB option, and for
            ``attention_at`` (an option of ``IBImageClassifier``).
    """

    def __init__(
        self,
        in_channels: Optional[int] = None,
        bottleneck_dim: int = 256,
        stage_index: int = -1,
        pooled_channels: Optional[int] = None,
        hidden_channels: Optional[int] = None,
        relu_output: bool = True,
        data_format: str = "auto",
        num_prefix_tokens: Optional[int] = None,
        with_attention: bool = True,
        init_cfg: Optional[dict] = None,
        **ib_options: Any,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if ib_options.pop("standalone", None) is not None:  # once needed outside the classifier
            warnings.warn(
                "IBAttention(standalone=...) is deprecated and ignored: the neck builds anywhere, "
                "and a training forward through a plain neck(x) call raises",
                DeprecationWarning,
                stacklevel=2,
            )
        if "attention_at" in ib_options:
            raise TypeError(
                f"IBAttention got attention_at={ib_options['attention_at']!r}: where the attention "
                "sits is the classifier's option, model=dict(type='IBImageClassifier', "
                "attention_at=..., neck=dict(type='IBAttention')) (IBImageClassifier also reads it "
                "from the neck config)"
            )
        options = split_ib_options(dict(ib_options, bottleneck_dim=bottleneck_dim))
        if in_channels is None:
            raise ValueError(
                "IBAttention needs in_channels, the channels of the map the attention modulates; "
                "IBImageClassifier infers it from the backbone when the neck config leaves it out"
            )
        check_positive_int("in_channels", in_channels)
        if isinstance(stage_index, bool) or not isinstance(stage_index, int):
            raise TypeError(f"stage_index must be an int, got {stage_index!r}")
        if data_format not in DATA_FORMATS:
            raise ValueError(f"data_format must be one of {DATA_FORMATS}, got {data_format!r}")
        if not isinstance(relu_output, bool):
            raise TypeError(f"relu_output must be True or False, got {relu_output!r}")
        if not isinstance(with_attention, bool):
            raise TypeError(f"with_attention must be True or False, got {with_attention!r}")
        if with_attention and pooled_channels not in (None, in_channels):
            raise ValueError(
                f"pooled_channels={pooled_channels} differs from in_channels={in_channels}, but "
                "the neck pools the map its own attention modulates; place the attention in the "
                "backbone (IBImageClassifier attention_at=...) to pool another stage"
            )
        pooled_channels = in_channels if pooled_channels is None else pooled_channels
        check_positive_int("pooled_channels", pooled_channels)
        self.options = options
        self.in_channels = in_channels
        self.out_channels = bottleneck_dim
        self.stage_index = stage_index
        self.pooled_channels = pooled_channels
        self.hidden_channels = hidden_channels
        self.data_format = data_format
        self.num_prefix_tokens = num_prefix_tokens
        self.relu_output = relu_output
        self.with_attention = with_attention
        self.attention = self.build_attention() if with_attention else None
        self.bottleneck = options.bottleneck(pooled_channels)
        self._num_anchors = options.num_anchors
        self.decoder_act = options.decoder(num_classes=0)  # the decoder's ReLU
        self.objective = options.objective()

    @property
    def num_anchors(self) -> Optional[int]:
        """Q, or None without quantization."""
        return self._num_anchors

    def build_attention(self) -> IBSpatialAttention:
        """A new IB attention for ``in_channels`` channels with this neck's options.

        The neck's own (``with_attention=True``), or the one ``IBImageClassifier`` places in the
        backbone: one recipe for both.
        """
        return new_attention(self.options, self.in_channels, self.hidden_channels)

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

    def forward(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> tuple[torch.Tensor]:
        """``(features,)`` as every MMPretrain neck returns: evaluation and inference only.

        Raises:
            TypeError: in a training forward (training mode, gradients on): the caller reads the
                features only, so the IB terms would never reach the loss; IB-aware callers
                use :meth:`forward_ib` (``model=dict(type='IBImageClassifier', ...)``).
            RuntimeError: without its own attention (``with_attention=False``), which only
                :meth:`forward_ib` can receive.
        """
        if self.attention is not None and self.training and torch.is_grad_enabled():
            raise TypeError(
                "IBAttention was called as a plain neck, neck(x), in a training forward: the "
                "caller (e.g. MMPretrain's ImageClassifier, whose loss reads the head only) would "
                "train without the IB loss terms loss_kl / loss_vq / loss_commit. Use "
                "model=dict(type='IBImageClassifier', ...), which adds them to the loss dict"
            )
        return (self.forward_ib(inputs)[0],)

    def forward_ib(
        self,
        inputs: Union[torch.Tensor, Sequence[torch.Tensor]],
        attention: Optional[AttentionOutput] = None,
    ) -> IBNeckOutput:
        """``(relu(z),)`` (``(z,)`` without ``relu_output``), shape (B, bottleneck_dim), with the
        IB terms and the attention map attached.

        Args:
            inputs: the backbone's output tuple.
            attention: with ``with_attention=False``, what the attention inside the backbone
                returned in this pass (``IBImageClassifier.extract_feat`` collects it); else
                None.

        Raises:
            RuntimeError: without its own attention but no ``attention``, or the other way round.
        """
        if self.attention is not None:
            if attention is not None:
                raise RuntimeError(
                    "IBAttention got an attention output, but it applies its own attention "
                    "(with_attention=True)"
                )
            x = self.select_stage(inputs)
            att, code, terms = run_pooled_ib(x, self.attention, self.bottleneck, self.objective)
        else:
            if attention is None:
                raise RuntimeError(
                    "IBAttention(with_attention=False) needs the output of the attention inside "
                    "the backbone; build the model as IBImageClassifier(attention_at=...), whose "
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
