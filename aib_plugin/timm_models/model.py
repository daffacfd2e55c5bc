"""``AIBNet``: any timm backbone with IB spatial attention, a variational bottleneck and decoder.

Data path (paper placement, ``attention_stage=-1``)::

    backbone front -> IBSpatialAttention -> last stage [-> rest of forward_features]
      -> backbone pre-logits (global pool, ...) -> VariationalBottleneck -> z -> IBDecoder
"""

import math
import warnings
from typing import Any, Optional, Union

import timm
import torch
import torch.nn as nn

from ..layers import (
    AttentionOutput,
    ConvAttentionHead,
    IBDecoder,
    IBLossTerms,
    IBOptions,
    IBSpatialAttention,
    PaperAttentionHead,
    mc_average,
    stride_one_copy,
)
from ..layers._validate import check_positive_int
from .loss_injection import add_to_backward
from .stage import (
    IBAttentionAdapter,
    IBSequentialStage,
    capture_attention,
    is_tracing,
    set_submodule,
    wrap_stage,
)

HEADS = ("light", "paper", "conv")


class _ProbeDone(Exception):
    pass


def _probe_stage(base: nn.Module, path: str, at_input: bool, in_chans: int) -> torch.Tensor:
    """Run ``base`` just far enough to capture the input (or output) of the module at ``path``."""
    module = base.get_submodule(path)
    captured: list[torch.Tensor] = []

    def pre_hook(_m: nn.Module, args: tuple) -> None:
        captured.append(args[0])
        raise _ProbeDone

    def post_hook(_m: nn.Module, _args: tuple, out: Any) -> None:
        captured.append(out)
        raise _ProbeDone

    handle = (
        module.register_forward_pre_hook(pre_hook)
        if at_input
        else module.register_forward_hook(post_hook)
    )
    cfg_size = tuple(getattr(base, "pretrained_cfg", {}).get("input_size", (3, 224, 224))[-2:])
    was_training = base.training
    base.eval()
    errors = []
    try:
        for size in ((64, 64), cfg_size):
            try:
                with torch.no_grad():
                    base.forward_features(torch.zeros(1, in_chans, *size))
            except _ProbeDone:
                break
            except Exception as err:  # a size the base does not accept: try the next one
                errors.append(f"{size}: {err}")
    finally:
        handle.remove()
        base.train(was_training)
    if not captured:
        raise RuntimeError(
            f"could not run the backbone up to '{path}' to find its feature map shape: "
            + "; ".join(errors)
        )
    return captured[0]


def _attention_layout(base: nn.Module, feat: Any, arch: str, where: str) -> dict[str, Any]:
    """Work out layout, channels and token grid of the feature map the attention will see."""
    if not isinstance(feat, torch.Tensor) or feat.dim() not in (3, 4):
        shape = tuple(feat.shape) if isinstance(feat, torch.Tensor) else type(feat).__name__
        raise TypeError(
            f"{arch}: the feature map at {where} is not spatial (got {shape}); IB spatial "
            "attention needs (B, C, H, W), (B, H, W, C) or patch tokens (B, N, C)"
        )
    if feat.dim() == 4:
        nhwc = getattr(base, "output_fmt", "NCHW") == "NHWC"
        return dict(layout="NHWC" if nhwc else "NCHW", chs=int(feat.shape[-1 if nhwc else 1]))
    prefix = int(getattr(base, "num_prefix_tokens", 0))
    grid = getattr(getattr(base, "patch_embed", None), "grid_size", None)
    if grid is None or int(grid[0]) * int(grid[1]) + prefix != feat.shape[1]:
        raise TypeError(
            f"{arch}: the token sequence at {where} (shape {tuple(feat.shape)}) does not map to a "
            f"patch grid (patch_embed.grid_size={grid}, num_prefix_tokens={prefix})"
        )
    return dict(layout="NLC", chs=int(feat.shape[-1]), grid_size=tuple(grid), prefix=prefix)


def _stage_path(
    base: nn.Module, arch: str, feature_info: list, attention_stage: Union[int, str]
) -> str:
    """Module path of the stage the attention goes in front of (or behind, for ``'output'``)."""
    if attention_stage == "output":
        return feature_info[-1]["module"]
    if isinstance(attention_stage, str):
        try:
            base.get_submodule(attention_stage)
        except AttributeError:
            raise ValueError(
                f"attention_stage={attention_stage!r} is not a module of {arch} (give a feature "
                "stage index, 'output', or a dotted module path)"
            ) from None
        return attention_stage
    if isinstance(attention_stage, bool) or not isinstance(attention_stage, int):
        raise TypeError(
            f"attention_stage must be an int, 'output' or a module path, got {attention_stage!r}"
        )
    if not -len(feature_info) <= attention_stage < len(feature_info):
        raise ValueError(
            f"attention_stage={attention_stage} is out of range for {arch}'s "
            f"{len(feature_info)} feature stages"
        )
    return feature_info[attention_stage]["module"]


def _check_injection_options(in_backward: Any, grad_scale: Any) -> None:
    if not isinstance(in_backward, bool):
        raise TypeError(f"ib_loss_in_backward must be True or False, got {in_backward!r}")
    if grad_scale is None:
        return
    if (
        isinstance(grad_scale, bool)
        or not isinstance(grad_scale, (int, float))
        or not math.isfinite(grad_scale)
        or grad_scale <= 0
    ):
        raise ValueError(
            "ib_loss_grad_scale must be a positive number (1/N for N gradient-accumulation "
            f"steps, written as a decimal, e.g. 0.25) or None, got {grad_scale!r}"
        )


def _check_not_fp16(out: torch.Tensor) -> None:
    """Refuse fp16 under ``ib_loss_in_backward``: a GradScaler would not scale the IB terms."""
    devices = {out.device.type, "cpu", "cuda"}
    autocast = [d for d in sorted(devices) if _autocast_dtype(d) == torch.float16]
    if out.dtype == torch.float16 or autocast:
        where = f"fp16 autocast on {', '.join(autocast)}" if autocast else "fp16 outputs"
        raise RuntimeError(
            f"AIBNet(ib_loss_in_backward=True) refuses {where}: fp16 training scales the loss "
            "with a GradScaler, which cannot scale the IB terms injected into backward, so they "
            "would be trained at 1/scale. Use bf16 autocast (timm's train.py: --amp "
            "--amp-dtype bfloat16), or leave ib_loss_in_backward off and add "
            "model.ib_loss().total() to the loss the scaler scales "
            "(aib_plugin.timm_models.AIBClassificationTask does that)."
        )


def _autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    try:
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
    except RuntimeError:  # a device type this build does not know
        pass
    return None


class AIBNet(nn.Module):
    """A timm model with Attentive Information Bottleneck spatial attention.

    Build it with ``timm.create_model('<arch>_aib', ...)`` or :func:`create_aib_model`.

    Args:
        base_arch: name of the timm model to wrap (e.g. ``'resnet50'``).
        num_classes: classes of the decoder; 0 makes ``forward`` return z (a feature extractor).
        in_chans: input channels.
        global_pool: pooling type passed to the base; ``''`` disables pooling (and the IB head).
        attention_stage: index into the base's ``feature_info`` of the stage whose input the
            attention modulates. None (default) means -1, the last stage as in the paper, except
            for class-token-pooled token models (ViT), where it is -2: their last block reads the
            patch tokens only through a per-token LayerNorm, which cancels the modulation, so it
            must act before the last two blocks (-1 is refused there). ``'output'`` to
            modulate the output of the last stage instead; or the dotted path of any module of
            the base whose input to modulate (e.g. ``'stages.3.blocks'``: ConvNeXt stages start
            with a per-pixel LayerNorm, which would cancel a spatial modulation of their input).
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
        attention_stage: Optional[Union[int, str]] = None,
        head: str = "light",
        decoder_hidden_dim: Optional[int] = None,
        ib_loss_in_backward: bool = False,
        ib_loss_grad_scale: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if global_pool == "" and num_classes > 0:
            raise ValueError("global_pool='' (no pooling) needs num_classes=0: z needs pooling")
        check_positive_int("in_chans", in_chans)
        _check_injection_options(ib_loss_in_backward, ib_loss_grad_scale)
        options, base_kwargs = IBOptions.split(kwargs)
        self.options = options
        self.objective = options.objective()
        bottleneck_dim = options.bottleneck_dim
        if global_pool is not None:
            base_kwargs["global_pool"] = global_pool
        base = timm.create_model(
            base_arch, pretrained=False, num_classes=0, in_chans=in_chans, **base_kwargs
        )
        feature_info = getattr(base, "feature_info", None)
        if not feature_info:
            raise TypeError(f"{base_arch} has no feature_info: cannot find its stages")
        at_input = attention_stage != "output"
        token_pooled = getattr(base, "global_pool", None) == "token"
        if attention_stage is None:
            attention_stage = -2 if token_pooled and len(feature_info) > 2 else -1
        path = _stage_path(base, base_arch, feature_info, attention_stage)
        where = f"the {'input' if at_input else 'output'} of '{path}'"
        info = _attention_layout(
            base, _probe_stage(base, path, at_input, in_chans), base_arch, where
        )
        last = feature_info[-1]["module"]
        if info["layout"] == "NLC" and token_pooled and (path == last or not at_input):
            raise ValueError(
                f"{base_arch} pools its class token, which reads the patch tokens of the last "
                f"block only through a per-token LayerNorm: attention at {where} would not "
                "change the logits. Use attention_stage=-2 (or earlier), or global_pool='avg'"
            )
        stage = base.get_submodule(path)
        if head == "paper":
            if info["layout"] != "NCHW" or not at_input:
                raise ValueError(
                    "head='paper' needs a convolutional (NCHW) stage and attention at its input; "
                    f"{base_arch} at {where} gives layout {info['layout']}"
                )
            stage_out = _probe_stage(base, path, False, in_chans)
            att_head: Union[str, nn.Module] = PaperAttentionHead(
                stride_one_copy(stage),
                int(stage_out.shape[1]),
                num_classes if num_classes > 0 else bottleneck_dim,
            )
        elif head == "conv":
            att_head = ConvAttentionHead(info["chs"], kernel_size=options.head_kernel_size)
        else:
            att_head = options.light_head(info["chs"])
        attention = options.attention(info["chs"], att_head)
        adapter = IBAttentionAdapter(
            attention, info["layout"], info.get("grid_size"), info.get("prefix", 0)
        )
        set_submodule(base, path, wrap_stage(stage, adapter, at_input))

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
        self.feature_info = [dict(f, module="backbone." + f["module"]) for f in feature_info]
        if hasattr(base, "output_fmt"):
            self.output_fmt = base.output_fmt
        self.bottleneck = options.bottleneck(
            getattr(base, "head_hidden_size", None) or base.num_features
        )
        self.decoder_hidden_dim = decoder_hidden_dim
        self.decoder = options.decoder(num_classes, decoder_hidden_dim)
        self._mc_samples = (options.attention_samples, options.code_samples)
        self._ib_terms = None  # Optional[IBLossTerms], kept outside TorchScript
        self._pending_attention = None  # Optional[AttentionOutput]: forward_features -> head
        self._last_attention = None  # Optional[AttentionOutput]: attention_output()
        self._ib_state = "no forward yet"
        self.ib_loss_in_backward = ib_loss_in_backward
        self.ib_loss_grad_scale = ib_loss_grad_scale
        self._ib_read = True  # the terms of the last training forward reached a loss
        self._ib_unread_warned = False
        self._ib_dropped = False  # an injected output's graph was freed without backward

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
        if self.ib_loss_in_backward:
            raise RuntimeError(
                "ib_loss(): this model has ib_loss_in_backward=True, so backward through its "
                "output already adds the IB terms; adding model.ib_loss().total() to the loss "
                "would count them twice. Log them with model.ib_log_values(), or build the "
                "model with ib_loss_in_backward=False to add ib_loss().total() yourself."
            )
        terms = self._terms()
        self._ib_read = True
        return terms

    @torch.jit.unused
    def ib_log_values(self) -> dict[str, float]:
        """The unweighted IB terms of the last training-mode forward as floats, for logging.

        ``kl_bits`` (and ``vq``, ``commit``, ``area`` when present), as
        :meth:`IBLossTerms.log_values`. Works with ``ib_loss_in_backward`` on or off; reading
        them does not add them to any loss.
        """
        return self._terms().log_values()

    @torch.jit.unused
    def _terms(self) -> IBLossTerms:
        if self._ib_terms is None:
            raise RuntimeError(
                "ib_loss(): no IB loss terms to return (reason: "
                f"{self._ib_state}). They exist only after a forward pass in training mode "
                "(model.train()); an eval forward clears them."
            )
        return self._ib_terms

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
    def _record(self, z_out: Any, training: bool) -> None:
        attention, self._pending_attention = self._pending_attention, None
        self._last_attention = attention
        if training and attention is None:
            raise RuntimeError(
                "AIBNet: forward_head() in training needs the attention of a forward_features() "
                "call just before it (the IB terms use it); call model(x), or forward_features "
                "then forward_head"
            )
        if training:
            grad = torch.is_grad_enabled()
            if grad:
                self._check_last_terms_used()
            self._ib_terms = self.objective(z_out, attention)
            self._ib_state = "training forward"
            # terms that nothing can train (no grad, frozen) need no reading
            self._ib_read = not (grad and self._ib_terms.total().requires_grad)
        else:
            self._ib_terms = None
            self._ib_state = "the last forward was in eval mode"

    @torch.jit.unused
    def _check_last_terms_used(self) -> None:
        """Refuse (injection) or warn once (no injection) when the last IB terms were dropped."""
        if self.ib_loss_in_backward:
            if self._ib_dropped:
                self._ib_dropped = False
                raise RuntimeError(
                    "AIBNet(ib_loss_in_backward=True): the IB terms of an earlier training "
                    "forward never reached backward: the loss did not use that forward's output "
                    "(the logits, or z), so backward never passed through it and the IB terms "
                    "were dropped. Compute the loss from the model output, run forwards that "
                    "train nothing under torch.no_grad(), or turn ib_loss_in_backward off and add "
                    "model.ib_loss().total() to the loss yourself."
                )
        elif not self._ib_read and not self._ib_unread_warned:
            self._ib_unread_warned = True
            warnings.warn(
                "AIBNet: the IB terms (KL, anchor losses) of the last training forward were never "
                "read, so the loss trains without them. Add model.ib_loss().total() to the "
                "loss, or build the model with ib_loss_in_backward=True (timm's train.py: "
                "--model-kwargs ib_loss_in_backward=True) so backward through the logits adds "
                "them. (Warned once per model.)",
                UserWarning,
                stacklevel=2,
            )

    @torch.jit.unused
    def _inject(self, out: torch.Tensor) -> torch.Tensor:
        """``out`` tied to the IB total in backward (``ib_loss_in_backward``), else ``out``."""
        if not self.ib_loss_in_backward or not torch.is_grad_enabled() or self._ib_terms is None:
            return out
        total = self._ib_terms.total()
        if not total.requires_grad:  # nothing to train (frozen): no backward will come
            return out
        _check_not_fp16(out)
        self._ib_read = True
        scale = 1.0 if self.ib_loss_grad_scale is None else float(self.ib_loss_grad_scale)
        return add_to_backward(out, total, scale, self._on_ib_backward, self._on_ib_dropped)

    @torch.jit.unused
    def _on_ib_backward(self) -> None:
        """Backward reached the injected output: refuse a gradient accumulation it would break."""
        if self.ib_loss_grad_scale is not None:
            return
        probe = self._ib_grad_probe()
        if probe is not None and probe.grad is not None and bool(probe.grad.any()):
            raise RuntimeError(
                "AIBNet(ib_loss_in_backward=True): this backward adds to gradients an earlier "
                "backward left (gradient accumulation). The loop likely divides each loss by "
                "the number of accumulation steps (timm's --grad-accum-steps N divides by N), "
                "which the injected IB terms cannot see: pass ib_loss_grad_scale=1/N (e.g. "
                "--model-kwargs ib_loss_in_backward=True ib_loss_grad_scale=0.25 for N=4; an "
                "explicit scale is trusted), or call optimizer.zero_grad() before each backward."
            )

    @torch.jit.unused
    def _on_ib_dropped(self) -> None:
        self._ib_dropped = True

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
        if not torch.jit.is_scripting():
            if not is_tracing():
                self._record(z_out, self.training)
        elif self.training and self.ib_loss_in_backward:
            raise RuntimeError(
                "AIBNet(ib_loss_in_backward=True): a TorchScript module cannot add the IB terms "
                "to backward (nor record them for ib_loss()); train the eager model (drop timm's "
                "--torchscript) and script it for deployment"
            )
        if pre_logits or self.num_classes == 0:
            if self.training:
                if not torch.jit.is_scripting():
                    if not is_tracing():
                        self._ib_terms = self.objective.gate(self._ib_terms, None)
                        return self._inject(z_out.z)
                return z_out.z
            if attention_samples > 1:
                return mc_average(z_out.mu, z_out.mu.shape[0] // attention_samples)
            return z_out.mu
        logits = self.decoder(z_out.z)
        total = attention_samples * z_samples
        if total > 1:
            logits = mc_average(logits, logits.shape[0] // total)
        if self.training and not torch.jit.is_scripting():
            if not is_tracing():
                self._ib_terms = self.objective.gate(self._ib_terms, logits)
                return self._inject(logits)
        return logits

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
