"""Build one backbone as the model variants the benchmark compares, timm or MMPretrain alike.

Backbone names are timm architectures (``'resnet50'``) or ``'mmpretrain:resnet<depth>'`` for
MMPretrain's ``ResNet`` built from a config dict (``ImageClassifier`` for the plain model,
``IBImageClassifier`` with the ``IBAttention`` neck for AIB).

Variants:

=============  ==========================================================================
``plain``      the backbone as its framework builds it
``aib``        AIB with the light attention head (``head='light'``)
``aib_paper``  AIB with the paper's head (``head='paper'``; timm CNNs only)
``aib_qt``     AIB, light head, attention quantized to 20 anchors
=============  ==========================================================================

The quality benchmark builds its models from configs instead (:mod:`.quality`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import timm
import torch
import torch.nn as nn
import torch.nn.functional as F

MM_PREFIX = "mmpretrain:"
COST_VARIANTS = ("plain", "aib", "aib_paper", "aib_qt")
AIB_VARIANTS = ("aib", "aib_paper", "aib_qt")
#: anchors of the quantized variant (the ``_qt`` models' default)
NUM_ANCHORS = 20
_INV_LN2 = 1.0 / math.log(2.0)


class NotApplicable(Exception):
    """The variant does not exist for this backbone (e.g. the paper head on a ViT)."""


@dataclass
class Variant:
    """One built model and how to run it.

    Attributes:
        backbone: the backbone name as given.
        name: the variant (see the module docs).
        model: the module.
        framework: ``'timm'`` or ``'mmpretrain'``.
    """

    backbone: str
    name: str
    model: nn.Module
    framework: str

    @property
    def is_aib(self) -> bool:
        """Whether the model carries IB attention."""
        return self.name in AIB_VARIANTS

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``x`` (the caller picks train/eval mode and grad mode)."""
        if self.framework == "mmpretrain":
            return self.model(x, mode="tensor")
        return self.model(x)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training loss: cross-entropy in bits, plus the IB terms for AIB models."""
        if self.framework == "mmpretrain":
            from mmpretrain.structures import DataSample

            samples = [DataSample().set_gt_label(int(label)) for label in y]
            return sum(self.model.loss(x, samples).values())
        loss = F.cross_entropy(self.model(x), y) * _INV_LN2
        if self.is_aib:
            loss = loss + self.model.ib_loss().total()
        return loss

    def attention_module(self) -> nn.Module:
        """The :class:`~aib_plugin.layers.IBSpatialAttention` of an AIB model."""
        if not self.is_aib:
            raise ValueError(f"{self.name} has no IB attention")
        return self.model.ib_attention  # both frameworks' AIB models have the property


def _token_model(arch: str) -> bool:
    return arch.startswith(("vit", "deit", "eva", "beit", "swin"))


def timm_kwargs(arch: str, input_size: int) -> dict[str, Any]:
    """Extra ``create_model`` arguments a timm architecture needs at ``input_size``."""
    return {"img_size": input_size} if _token_model(arch) and input_size != 224 else {}


def _mm_depth(backbone: str) -> int:
    match = re.fullmatch(r"resnet(18|34|50|101|152)", backbone[len(MM_PREFIX) :])
    if match is None:
        raise ValueError(
            f"unsupported MMPretrain backbone {backbone!r}: use 'mmpretrain:resnet<depth>' "
            "with depth 18, 34, 50, 101 or 152"
        )
    return int(match.group(1))


def mmpretrain_config(backbone: str, variant: str, num_classes: int) -> dict[str, Any]:
    """The MMPretrain model config of ``variant`` for ``'mmpretrain:resnet<depth>'``."""
    depth = _mm_depth(backbone)
    channels = 2048 if depth >= 50 else 512
    loss = dict(type="CrossEntropyLoss", loss_weight=_INV_LN2)  # CE in bits, as the AIB loss
    cfg: dict[str, Any] = dict(backbone=dict(type="ResNet", depth=depth, out_indices=(3,)))
    if variant == "plain":
        cfg.update(
            type="ImageClassifier",
            neck=dict(type="GlobalAveragePooling"),
            head=dict(
                type="LinearClsHead", num_classes=num_classes, in_channels=channels, loss=loss
            ),
        )
    elif variant in ("aib", "aib_qt"):
        cfg.update(
            type="IBImageClassifier",
            neck=dict(
                type="IBAttention",
                in_channels=channels,
                bottleneck_dim=256,
                num_anchors=NUM_ANCHORS if variant == "aib_qt" else None,
            ),
            head=dict(type="LinearClsHead", num_classes=num_classes, in_channels=256, loss=loss),
        )
    else:
        raise NotApplicable(f"{variant} is not available through the MMPretrain neck")
    return cfg


def build_variant(
    backbone: str, variant: str, num_classes: int = 1000, input_size: int = 224
) -> Variant:
    """Build ``variant`` of ``backbone`` (``pretrained=False``; nothing is downloaded).

    Args:
        backbone: a timm architecture or ``'mmpretrain:resnet<depth>'``.
        variant: one of :data:`COST_VARIANTS`.
        num_classes: classes of the classifier.
        input_size: the input side the model will see (token models need it at build time).

    Raises:
        NotApplicable: if the variant does not exist for this backbone.
        ValueError: for an unknown variant or backbone.
    """
    if variant not in COST_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    if backbone.startswith(MM_PREFIX):
        from mmpretrain.registry import MODELS

        import aib_plugin.mmpretrain  # noqa: F401  (registers the neck and classifier)

        model = MODELS.build(mmpretrain_config(backbone, variant, num_classes))
        return Variant(backbone, variant, model, "mmpretrain")

    from aib_plugin import create_aib_model

    if not timm.is_model(backbone):
        raise ValueError(f"unknown timm architecture {backbone!r}")
    kwargs = dict(timm_kwargs(backbone, input_size), num_classes=num_classes)
    if variant == "plain":
        model = timm.create_model(backbone, **kwargs)
    else:
        quantized = variant == "aib_qt"
        head = "paper" if variant == "aib_paper" else "light"
        try:
            model = create_aib_model(backbone, quantized=quantized, head=head, **kwargs)
        except ValueError as err:
            if head == "paper":
                raise NotApplicable(str(err)) from None
            raise
    return Variant(backbone, variant, model, "timm")
