"""``IBImageClassifier``: an ``ImageClassifier`` that adds the neck's IB terms to the loss dict."""

from __future__ import annotations

import warnings
from typing import Any, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from aib_plugin.layers import (
    IBAttentionAdapter,
    IBLossTerms,
    IBSpatialAttention,
    capture_attention,
    ib_log_dict,
    set_submodule,
    wrap_stage,
)
from aib_plugin.layers.probe import probe_forward, probe_module

from .checkpoint import allow_mmengine_checkpoints
from .layout import infer_channels
from .neck import IBAttention, IBNeckOutput, attention_from_config


def attach_attention(
    data_samples: list[DataSample], attention: Optional[torch.Tensor]
) -> list[DataSample]:
    """Store each image's attention map (H, W) as ``attention_map`` in its prediction.

    :class:`~aib_plugin.mmpretrain.LocalizationMetric` and the visualisation tools read it there.
    """
    if attention is None:
        raise RuntimeError("no attention map was recorded by the forward pass")
    if len(data_samples) != attention.shape[0]:
        raise ValueError(
            f"{len(data_samples)} data samples but {attention.shape[0]} attention maps"
        )
    for sample, attention_map in zip(data_samples, attention, strict=True):
        sample.set_field(attention_map[0].float().cpu(), "attention_map", field_type="data")
    return data_samples


def merge_ib_losses(
    losses: dict,
    ib_terms: IBLossTerms,
    who: str,
    statistics: Optional[dict[str, torch.Tensor]] = None,
) -> dict:
    """Rename the classification ``loss`` to ``loss_cls`` and add the IB terms as separate keys.

    Args:
        losses: the head's (or classifier's) loss dict.
        ib_terms: the IB terms of the same forward pass.
        who: the model's name, for error messages.
        statistics: ``ib_<name>`` values to log beside them (:func:`aib_plugin.layers.ib_log_dict`;
            MMEngine logs every key and sums only those containing ``loss``).

    Returns:
        ``losses`` with ``loss_cls``, ``loss_kl`` and, with anchors, ``loss_vq``, ``loss_commit``,
        plus the statistics.
    """
    merged = dict(losses)
    if "loss" in merged:
        merged["loss_cls"] = merged.pop("loss")
    for name, value in {**ib_terms.losses(), **(statistics or {})}.items():
        if name in merged:
            raise KeyError(f"{who}: the head already returns a loss named {name!r}")
        if name.startswith("ib_") and "loss" in name:  # would be summed into the loss
            raise KeyError(f"{who}: a statistic may not contain 'loss' in its name: {name!r}")
        merged[name] = value
    return merged


def probe_backbone(backbone: nn.Module, size: int) -> tuple:
    """The backbone's outputs (a tuple) on one zero image of ``size`` x ``size``, in eval mode."""
    outputs = probe_forward(backbone, (size,))
    return (outputs,) if isinstance(outputs, torch.Tensor) else tuple(outputs)


def _probe_module_input(backbone: nn.Module, path: str, size: int) -> torch.Tensor:
    """The input of the backbone's module at ``path`` on one zero image."""
    try:
        backbone.get_submodule(path)
    except AttributeError:
        children = [name for name, _ in backbone.named_children()]
        raise ValueError(
            f"IBImageClassifier attention_at={path!r} is not a module of the backbone "
            f"{type(backbone).__name__} (its children: {children})"
        ) from None
    attended = probe_module(backbone, path, (size,))
    if not isinstance(attended, torch.Tensor) or attended.dim() != 4:
        got = tuple(attended.shape) if torch.is_tensor(attended) else type(attended).__name__
        raise ValueError(
            f"IBImageClassifier attention_at={path!r}: the module's input is not a (B, C, H, W) "
            f"map (got {got}); name a convolutional stage, e.g. 'layer4'"
        )
    return attended


def _infer_neck_channels(
    backbone: nn.Module, neck: dict, size: int, path: Optional[str] = None
) -> dict:
    """``in_channels`` (and ``pooled_channels`` with the attention at the input of the backbone's
    module ``path``) of an IBAttention config that leaves them out, from one backbone run."""
    stage_index = neck.get("stage_index", -1)
    try:
        outputs = probe_backbone(backbone, size)
    except Exception as err:
        raise ValueError(
            f"IBImageClassifier could not run the backbone on a {size}x{size} image to infer "
            f"the IBAttention neck's in_channels ({err}); set neck in_channels (or probe_size)"
        ) from err
    if not -len(outputs) <= stage_index < len(outputs):
        raise IndexError(
            f"IBAttention stage_index={stage_index} is out of range: the backbone returns "
            f"{len(outputs)} output(s)"
        )
    stage = outputs[stage_index]
    channels = infer_channels(stage, neck.get("data_format", "auto"))
    found = {}
    if path is None:
        found["in_channels"] = channels
        where = f"the backbone's output {stage_index} (shape {tuple(stage.shape)})"
    else:
        found["pooled_channels"] = channels
        attended = _probe_module_input(backbone, path, size)
        found["in_channels"] = int(attended.shape[1])
        where = (
            f"the input of backbone.{path} (shape {tuple(attended.shape)}) and the backbone's "
            f"output {stage_index} (shape {tuple(stage.shape)})"
        )
    found = {k: v for k, v in found.items() if neck.get(k) is None}
    if found:
        print_log(
            "IBImageClassifier: IBAttention "
            + ", ".join(f"{k}={v}" for k, v in found.items())
            + f" inferred from {where} on a {size}x{size} image",
            logger="current",
        )
    return found


def _resolve_attention_at(
    attention_at: Optional[str], attention_stage: Optional[str], neck: Any
) -> tuple[Optional[str], Any]:
    """The one placement among ``attention_at``, its alias ``attention_stage`` and a neck
    config's ``attention_at`` (popped from a copy), and the neck config without it.

    Raises:
        ValueError: if more than one of them is given.
    """
    given = {}
    if attention_at is not None:
        given["attention_at"] = attention_at
    if attention_stage is not None:
        given["attention_stage"] = attention_stage
    if isinstance(neck, dict) and "attention_at" in neck:
        neck = dict(neck)
        value = neck.pop("attention_at")
        if value is not None:
            given["neck.attention_at"] = value
    if len(given) > 1:
        raise ValueError(
            "IBImageClassifier got the attention's place more than once: "
            + ", ".join(f"{k}={v!r}" for k, v in given.items())
            + "; give it once, as model=dict(type='IBImageClassifier', attention_at=...)"
        )
    path = next(iter(given.values()), None)
    if path is not None and not (isinstance(path, str) and path):
        name = next(iter(given))
        raise TypeError(
            f"IBImageClassifier {name} must be a module path of the backbone (e.g. 'layer4'), "
            f"got {path!r}"
        )
    return path, neck


@MODELS.register_module()
class IBImageClassifier(ImageClassifier):
    """``ImageClassifier`` whose loss dict carries the IB terms of an :class:`IBAttention` neck.

    Turn a stock config into an AIB one by changing ``type='ImageClassifier'`` to
    ``type='IBImageClassifier'``, adding ``neck=dict(type='IBAttention')`` (``in_channels``
    is inferred from the backbone when left out) and setting the head's ``in_channels`` to the
    neck's ``bottleneck_dim``. The loss dict then holds
    ``loss_cls`` (the head's loss), ``loss_kl`` and, with anchors, ``loss_vq`` and
    ``loss_commit``; MMEngine sums them and logs each. The same dict carries the pass's
    statistics (``ib_kl_bits``, ``ib_attn_mean``, ``ib_attn_sparsity``, with anchors
    ``ib_anchor_active`` and ``ib_anchor_perplexity``), which MMEngine logs without summing.
    The paper measures CE in bits: give the head's loss ``loss_weight=1 / ln 2``
    (``configs/_base_/ce_bits_head.py``).

    The classifier decides where the attention sits. By default the neck applies it to the
    backbone output it reads. ``attention_at='layer4'`` (any module path of the backbone) puts
    it at that module's input, the paper's placement before the last stage: the classifier
    builds the attention with the neck's options before the neck itself
    (:func:`~aib_plugin.mmpretrain.neck.attention_from_config`; initial weights are drawn in the
    order backbone, attention, bottleneck, head), splices it into the backbone
    (:func:`aib_plugin.layers.wrap_stage`) and hands its output of each pass to the neck, which
    pools the backbone output, the rear's encoding.

    At build time it checks the neck type, the head's ``in_channels`` and, by running the
    backbone once on a small zero image, the neck's stage index and channels. Building it also
    allows the types MMEngine checkpoints hold under ``torch.load(weights_only=True)``
    (:func:`~aib_plugin.mmpretrain.allow_mmengine_checkpoints`), so ``--resume`` works on
    torch >= 2.6 with MMPretrain's own ``tools/train.py``.

    Args:
        backbone: backbone config or module.
        neck: :class:`IBAttention` config or module (required).
        head: classification head config or module (a linear head keeps Monte-Carlo averaging
            exact).
        pretrained: checkpoint for the whole model (as ``ImageClassifier``).
        train_cfg: batch augmentations (as ``ImageClassifier``).
        data_preprocessor: data preprocessor config (as ``ImageClassifier``).
        attention_at: None (default): the neck's attention modulates the backbone output it
            reads. A module path of the backbone (e.g. ``'layer4'``): the attention modulates
            that module's input; the neck's ``in_channels`` are then the channels there and its
            ``pooled_channels`` those of the backbone output. Aliases: ``attention_stage`` (the
            name the timm models once used) and ``attention_at`` in the neck config; giving
            more than one is an error.
        attention_stage: alias of ``attention_at``.
        probe_size: side of the zero image used for the build-time shape check, or None to
            skip it (the same checks then run at the first forward).
        init_cfg: MMEngine initialisation config.

    Raises:
        ValueError: without a neck, with the placement given twice, or for an ``attention_at``
            that is not a module of the backbone.
        TypeError: for a neck that is not an ``IBAttention``.
    """

    def __init__(
        self,
        backbone: Union[dict, nn.Module],
        neck: Union[dict, nn.Module, None] = None,
        head: Union[dict, nn.Module, None] = None,
        pretrained: Optional[str] = None,
        train_cfg: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        attention_at: Optional[str] = None,
        attention_stage: Optional[str] = None,
        probe_size: Optional[int] = 32,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if neck is None:
            raise ValueError("IBImageClassifier needs an IB neck: neck=dict(type='IBAttention')")
        path, neck = _resolve_attention_at(attention_at, attention_stage, neck)
        is_ib_config = isinstance(neck, dict) and neck.get("type") in ("IBAttention", IBAttention)
        attention = None
        if is_ib_config:
            neck = dict(neck, with_attention=path is None)
            inferring = neck.get("in_channels") is None or (
                path is not None and neck.get("pooled_channels") is None
            )
            if (inferring or path is not None) and not isinstance(backbone, nn.Module):
                backbone = MODELS.build(backbone)
            if inferring:
                neck.update(_infer_neck_channels(backbone, neck, probe_size or 32, path))
            if path is not None:  # before the neck: the backbone, attention, bottleneck, head
                attention = attention_from_config(neck)  # draw their initial weights in turn
            neck = MODELS.build(neck)
        if not isinstance(neck, IBAttention):
            got = neck.get("type") if isinstance(neck, dict) else type(neck).__name__
            raise TypeError(f"IBImageClassifier needs neck type 'IBAttention', got {got!r}")
        if (path is None) != neck.with_attention:
            raise ValueError(
                f"IBImageClassifier attention_at={path!r}, but the prebuilt IBAttention has "
                f"with_attention={neck.with_attention}: build the neck with "
                f"with_attention={path is None} (or pass its config)"
            )
        allow_mmengine_checkpoints()  # --resume under torch.load(weights_only=True)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        self.attention_at = path
        self._check_head()
        if path is not None:
            self._place_attention(path, attention or self.neck.build_attention())
        if probe_size is not None:
            self._probe_backbone(probe_size)

    def _place_attention(self, path: str, attention: IBSpatialAttention) -> None:
        """Put the attention in the backbone, at the input of its module ``path``."""
        try:
            module = self.backbone.get_submodule(path)
        except AttributeError:
            children = [name for name, _ in self.backbone.named_children()]
            raise ValueError(
                f"IBImageClassifier attention_at={path!r} is not a module of the backbone "
                f"{type(self.backbone).__name__} (its children: {children})"
            ) from None
        adapter = IBAttentionAdapter(attention, "NCHW")
        set_submodule(self.backbone, path, wrap_stage(module, adapter, at_input=True))

    @property
    def ib_attention(self) -> IBSpatialAttention:
        """The IB attention: the neck's, or the one inside the backbone (``attention_at``)."""
        if self.attention_at is None:
            return self.neck.attention
        return self.backbone.get_submodule(self.attention_at).ib_attention.attn

    def extract_feat(self, inputs: torch.Tensor, stage: str = "neck"):
        """As ``ImageClassifier.extract_feat``, through :meth:`IBAttention.forward_ib`: the neck
        output carries the IB terms (with ``attention_at``, from the attention inside the
        backbone, collected for this pass only)."""
        if stage == "backbone":
            return super().extract_feat(inputs, stage)
        if stage not in ("neck", "pre_logits"):
            raise ValueError(
                f"extract_feat stage must be 'backbone', 'neck' or 'pre_logits', got {stage!r}"
            )
        if self.attention_at is None:
            x = self.neck.forward_ib(self.backbone(inputs))
        else:
            with capture_attention(self.ib_attention) as captured:
                outputs = self.backbone(inputs)
            x = self.neck.forward_ib(outputs, attention=captured.last)
        if stage == "neck":
            return x
        return self.head.pre_logits(x)

    def _check_head(self) -> None:
        if self.head is None:
            return
        in_channels = getattr(self.head, "in_channels", None)
        if in_channels is not None and in_channels != self.neck.out_channels:
            raise ValueError(
                f"IBImageClassifier: the head has in_channels={in_channels}, but IBAttention "
                f"returns bottleneck_dim={self.neck.out_channels} features; set the head's "
                f"in_channels={self.neck.out_channels}"
            )

    def _probe_backbone(self, size: int) -> None:
        """Run the backbone on a zero image to check the neck's stage index and channels."""
        try:
            outputs = probe_backbone(self.backbone, size)
        except Exception as err:  # an unusual backbone: the neck checks at the first forward
            warnings.warn(
                f"IBImageClassifier could not probe the backbone with a {size}x{size} image "
                f"({err}); the neck's shape checks will run at the first forward",
                stacklevel=2,
            )
            return
        # raises a clear error on a bad stage or channel count
        self.neck.select_stage(outputs, self.neck.pooled_channels)

    def loss(self, inputs: torch.Tensor, data_samples: list[DataSample]) -> dict:
        """The head's loss as ``loss_cls``, plus ``loss_kl`` / ``loss_vq`` / ``loss_commit``."""
        feats = self.extract_feat(inputs)
        if not isinstance(feats, IBNeckOutput):
            raise TypeError(f"IBImageClassifier: the neck returned {type(feats)}, not IB terms")
        losses = self.head.loss(feats, data_samples)
        objective = self.neck.objective
        # a gated area price scales by the classifier's confidence: the head's logits of z
        terms = objective.gate(feats.ib_terms, self.head(feats) if objective.needs_logits else None)
        statistics = ib_log_dict(
            terms, feats.attention_map, feats.anchor_indices, self.neck.num_anchors
        )
        return merge_ib_losses(losses, terms, type(self).__name__, statistics)

    def predict(
        self, inputs: torch.Tensor, data_samples: Optional[list[DataSample]] = None, **kwargs
    ) -> list[DataSample]:
        """Predict labels (as ``ImageClassifier``) and add each image's ``attention_map``."""
        feats = self.extract_feat(inputs)
        predictions = self.head.predict(feats, data_samples, **kwargs)
        return attach_attention(predictions, feats.attention_map)
