"""``AIBNet``: any timm backbone with IB spatial attention, a variational bottleneck and decoder.

Data path (paper placement, ``attention_at=-1``)::

    backbone front -> IBSpatialAttention -> last stage [-> rest of forward_features]
      -> backbone pre-logits (global pool, ...) -> VariationalBottleneck -> z -> IBDecoder
"""

from typing import Any, Optional, Union

import timm
import torch
import torch.nn as nn

from ..layers import (
    AttentionOutput,
    IBDecoder,
    IBLossTerms,
    IBOptions,
    IBSpatialAttention,
    mc_average,
)
from ..layers._validate import check_positive_int
from ..layers.placement import IBAttentionAdapter, IBSequentialStage, capture_attention, is_tracing
from .loss_injection import IBLossTracker, check_injection_options
from .placement import HEADS, Placement, place_attention, placement_option


class AIBNet(nn.Module):
    """A timm model with Attentive Information Bottleneck spatial attention.

    Build it with ``timm.create_model('<arch>_aib', ...)`` or :func:`create_aib_model`.

    Args:
        base_arch: name of the timm model to wrap (e.g. ``'resnet50'``).
        num_classes: classes of the decoder; 0 makes ``forward`` return z (a feature extractor).
        in_chans: input channels.
        global_pool: pooling type passed to the base; ``''`` disables pooling (and the IB head).
        attention_at: where the attention goes (the name the MMPretrain neck uses too): an
            index into the base's ``feature_info`` of the stage whose input it modulates. None
            (default) means -1, the last stage as in the paper, except for class-token-pooled
            token models (ViT), where it is -2: their last block reads the patch tokens only
            through a per-token LayerNorm, which cancels the modulation, so it must act before
            the last two blocks (-1 is refused there). ``'output'`` to modulate the output of
            the last stage instead; or the dotted path of any module of the base whose input to
            modulate (e.g. ``'stages.3.blocks'``: ConvNeXt stages start with a per-pixel
            LayerNorm, which would cancel a spatial modulation of their input). The module it
            lands on is ``attention_path``.
        head: ``'light'``, ``'paper'`` (a stride-1 copy of the stage, Attention Branch style) or
            ``'conv'`` (one kxk conv, k = ``head_kernel_size``: the authors' CIFAR VGG head).
        decoder_hidden_dim: H for a decoder ``Linear(K, H), ReLU, Linear(H, classes)`` (the
            authors' CIFAR VGG and CUB code), or None for ``ReLU, Linear(K, classes)`` (their
            CIFAR WRN code, the default).
        ib_loss_in_backward: add the IB terms to the gradient of what ``forward`` returns (the
            logits, or z): any ``loss_fn(model(x), y).backward()`` then trains the full objective,
            for loops that never call :meth:`ib_loss` (timm's ``train.py``: ``--model-kwargs
            ib_loss_in_backward=True``). Off by default: ``forward`` stays a function of its
            input alone (export, fx, TorchScript), and loops that add ``ib_loss().total()``
            would count the terms twice (with it on, :meth:`ib_loss` raises; log with
            :meth:`ib_log_values`). Refused with fp16 (a ``GradScaler`` scales the loss, not
            the injected terms), and a loss that does not use the output raises at a later
            forward; see :meth:`forward_head`.
        ib_loss_grad_scale: the gradient the injected IB terms receive. None (default) means 1,
            and a backward into parameters that already hold gradients of an earlier backward
            is refused: gradient accumulation divides the loss (timm's ``--grad-accum-steps N``
            by N), so pass ``1 / N``. An explicit value is trusted.
        attention_stage: the former name of ``attention_at``, still accepted (not both).
        **kwargs: the IB options shared with the MMPretrain neck, documented once in
            :class:`aib_plugin.layers.IBOptions` (``bottleneck_dim``, ``num_anchors``,
            ``learn_anchors``, ``modulation``, ``kl``, ``mc_samples``, ``beta``,
            ``codebook_weight``, ``commitment_weight``, ``area_weight``, ``area_mode``,
            ``area_free``, ``area_gate``, ``initial_attention``, ``head_kernel_size``;
            ``learn_anchors=True`` adds a parameter that ``output.mean().backward()`` leaves
            without a gradient), and the rest passed to ``timm.create_model(base_arch, ...)``
            (drop_rate, img_size, ...).
    """

    __jit_unused_properties__ = ["ib_attention"]

    def __init__(
        self,
        base_arch: str,
        num_classes: int = 1000,
        in_chans: int = 3,
        global_pool: Optional[str] = None,
        attention_at: Optional[Placement] = None,
        head: str = "light",
        decoder_hidden_dim: Optional[int] = None,
        ib_loss_in_backward: bool = False,
        ib_loss_grad_scale: Optional[float] = None,
        attention_stage: Optional[Placement] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if global_pool == "" and num_classes > 0:
            raise ValueError("global_pool='' (no pooling) needs num_classes=0: z needs pooling")
        check_positive_int("in_chans", in_chans)
        check_injection_options(ib_loss_in_backward, ib_loss_grad_scale)
        option_name, at = placement_option(attention_at, attention_stage)
        options, base_kwargs = IBOptions.split(kwargs)
        self.options = options
        self.objective = options.objective()
        bottleneck_dim = options.bottleneck_dim
        if global_pool is not None:
            base_kwargs["global_pool"] = global_pool
        base = timm.create_model(
            base_arch, pretrained=False, num_classes=0, in_chans=in_chans, **base_kwargs
        )
        path = place_attention(
            base,
            base_arch,
            option_name,
            at,
            head=head,
            options=options,
            in_chans=in_chans,
            head_classes=num_classes if num_classes > 0 else bottleneck_dim,
        )

        self.backbone = base
        self.base_arch = base_arch
        self.attention_path = path
        #: base keys under ``path`` live under ``path + '.stage'`` when the stage is wrapped
        wrapped = isinstance(base.get_submodule(path), IBSequentialStage)
        self.stage_key_prefix = "" if wrapped else "stage."
        self.in_chans = in_chans
        self.num_classes = num_classes
        self.global_pool = global_pool if global_pool is not None else "default"
        self.num_features = base.num_features
        self.head_hidden_size = bottleneck_dim
        self.bottleneck_dim = bottleneck_dim
        self.feature_info = [dict(f, module="backbone." + f["module"]) for f in base.feature_info]
        if hasattr(base, "output_fmt"):
            self.output_fmt = base.output_fmt
        self.bottleneck = options.bottleneck(
            getattr(base, "head_hidden_size", None) or base.num_features
        )
        self.decoder_hidden_dim = decoder_hidden_dim
        self.decoder = options.decoder(num_classes, decoder_hidden_dim)
        self.ib_loss_in_backward = ib_loss_in_backward
        self.ib_loss_grad_scale = ib_loss_grad_scale
        self._mc_samples = (options.attention_samples, options.code_samples)
        self._ib_tracker = IBLossTracker()  # the IB terms of the last training forward
        self._pending_attention = None  # Optional[AttentionOutput]: forward_features -> head
        self._last_attention = None  # Optional[AttentionOutput]: attention_output()

    # --- the IB parts -------------------------------------------------------------------------

    @property
    def ib_attention(self) -> IBSpatialAttention:
        """The :class:`IBSpatialAttention` inside the backbone."""
        return self._adapter().attn

    @torch.jit.unused
    def _adapter(self) -> IBAttentionAdapter:
        stage = self.backbone.get_submodule(self.attention_path)
        return stage.ib_attention

    @torch.jit.unused
    def ib_loss(self) -> IBLossTerms:
        """The weighted IB terms of the last training-mode forward; add ``.total()`` to the loss.

        Raises:
            RuntimeError: if there was no training-mode forward since the last evaluation forward,
                or with ``ib_loss_in_backward=True`` (the terms are in the gradient already).
        """
        return self._ib_tracker.take(self.ib_loss_in_backward)

    @torch.jit.unused
    def ib_log_values(self) -> dict[str, float]:
        """The unweighted IB terms of the last training-mode forward as floats, for logging.

        ``kl_bits`` (and ``vq``, ``commit``, ``area`` when present), as
        :meth:`IBLossTerms.log_values`. Works with ``ib_loss_in_backward`` on or off; reading
        them does not add them to any loss.
        """
        return self._ib_tracker.peek().log_values()

    @torch.jit.unused
    def attention_output(self) -> AttentionOutput:
        """The :class:`AttentionOutput` of the last forward (training or evaluation).

        Its ``attention_mean`` (B, 1, h, w) is the map to look at; ``anchor_indices`` are the
        anchors the (sampled) map was quantized to.

        Raises:
            RuntimeError: before the first forward, or after a ``forward_head`` alone.
        """
        if self._last_attention is None:
            raise RuntimeError(
                "attention_output(): no attention map yet; run the model (forward, or "
                "forward_features then forward_head) first"
            )
        return self._last_attention

    @torch.jit.unused
    def _features_with_attention(self, x: torch.Tensor) -> torch.Tensor:
        """``backbone.forward_features`` with the attention's output kept for ``forward_head``."""
        with capture_attention(self.ib_attention) as captured:
            features = self.backbone.forward_features(x)
        self._pending_attention = captured.last
        return features

    @torch.jit.unused
    def _track_ib_terms(self, z_out: Any, out: torch.Tensor, out_is_logits: bool) -> torch.Tensor:
        """Record this forward's attention and IB terms; ``out``, tied to them with injection."""
        attention, self._pending_attention = self._pending_attention, None
        self._last_attention = attention
        if not self.training:
            self._ib_tracker.clear()
            return out
        if attention is None:
            raise RuntimeError(
                "AIBNet: forward_head() in training needs the attention of a forward_features() "
                "call just before it (the IB terms use it); call model(x), or forward_features "
                "then forward_head"
            )
        # a gated area price scales by the classifier's confidence, read from the logits
        terms = self.objective.gate(
            self.objective(z_out, attention), out if out_is_logits else None
        )
        return self._ib_tracker.record(
            terms, out, self.ib_loss_in_backward, self.ib_loss_grad_scale, self._ib_grad_probe
        )

    @torch.jit.unused
    def _ib_grad_probe(self) -> Optional[nn.Parameter]:
        """A trainable parameter that every IB total reaches (bottleneck first)."""
        for module in (self.bottleneck, self.ib_attention):
            for param in module.parameters():
                if param.requires_grad:
                    return param
        return None

    def _num_samples(self) -> tuple[int, int]:
        if self.training:
            return 1, 1
        return self._mc_samples[0], self._mc_samples[1]

    # --- timm model API -----------------------------------------------------------------------

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.decoder.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        """Replace the decoder by one for ``num_classes`` (0: forward returns z)."""
        if global_pool is not None:
            if global_pool == "" and num_classes > 0:
                raise ValueError("global_pool='' (no pooling) needs num_classes=0")
            if global_pool != "":
                self.backbone.reset_classifier(0, global_pool)
            self.global_pool = global_pool
        self.num_classes = num_classes
        self.decoder = IBDecoder(self.bottleneck_dim, num_classes, self.decoder_hidden_dim)

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.backbone.set_grad_checkpointing(enable)

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        names = getattr(self.backbone, "no_weight_decay", lambda: set())()
        return {"backbone." + n for n in names}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The unpooled feature map of the backbone, with the attention applied inside it.

        The attention modulates the input of ``self.attention_path`` (the backbone's module
        there runs the :class:`IBSpatialAttention` first); its output is kept for
        ``forward_head`` (the IB terms) and :meth:`attention_output`.
        """
        if not torch.jit.is_scripting():
            if not is_tracing():
                return self._features_with_attention(x)
        return self.backbone.forward_features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool, encode z and decode; ``pre_logits`` returns z (its mean in evaluation)."""
        if self.global_pool == "":
            return x
        attention_samples, z_samples = self._num_samples()
        pooled = self.backbone.forward_head(x, pre_logits=True)
        z_out = self.bottleneck(pooled)
        returns_z = pre_logits or self.num_classes == 0
        if returns_z:
            if self.training:
                out = z_out.z
            elif attention_samples > 1:
                out = mc_average(z_out.mu, z_out.mu.shape[0] // attention_samples)
            else:
                out = z_out.mu
        else:
            out = self.decoder(z_out.z)
            total = attention_samples * z_samples
            if total > 1:
                out = mc_average(out, out.shape[0] // total)
        if not torch.jit.is_scripting():
            if not is_tracing():
                return self._track_ib_terms(z_out, out, not returns_z)
        elif self.training and self.ib_loss_in_backward:
            raise RuntimeError(
                "AIBNet(ib_loss_in_backward=True): a TorchScript module cannot add the IB terms "
                "to backward (nor record them for ib_loss()); train the eager model (drop timm's "
                "--torchscript) and script it for deployment"
            )
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    @torch.jit.ignore
    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: Optional[Union[int, list[int]]] = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> Union[list[torch.Tensor], tuple[torch.Tensor, list[torch.Tensor]]]:
        """The base's ``forward_intermediates`` (features after each stage, attention included)."""
        if not hasattr(self.backbone, "forward_intermediates"):
            raise NotImplementedError(f"{self.base_arch} has no forward_intermediates()")
        return self.backbone.forward_intermediates(
            x,
            indices=indices,
            norm=norm,
            stop_early=stop_early,
            output_fmt=output_fmt,
            intermediates_only=intermediates_only,
        )

    @torch.jit.ignore
    def prune_intermediate_layers(
        self, indices: Union[int, list[int]] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> list[int]:
        """Prune the base past the last wanted stage (and the IB head if ``prune_head``)."""
        kept = self.backbone.prune_intermediate_layers(
            indices, prune_norm=prune_norm, prune_head=prune_head
        )
        if prune_head:
            self.bottleneck = nn.Identity()
            self.decoder = IBDecoder(self.bottleneck_dim, 0)
            self.num_classes = 0
            self.global_pool = ""
        return kept
