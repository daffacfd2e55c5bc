"""Refusing the silent drop of the IB terms, without replacing MMPretrain's own classes.

A stock classifier computes its loss from the head (or the timm model's logits) alone, so with an
:class:`~aib_plugin.mmpretrain.IBAttention` neck or a timm ``*_aib`` model it would train without
the IB terms (no KL, anchors that never learn). This adapter leaves MMPretrain's registry entries
as they are (``ImageClassifier`` and ``TimmClassifier`` are MMPretrain's own classes) and refuses
that model in the IB parts and in a hook:

- Stock ``ImageClassifier`` + ``IBAttention`` neck: the neck refuses it by itself.
  ``IBImageClassifier`` reads the neck through :meth:`IBAttention.forward_ib`, which returns the
  features with the terms; a plain ``neck(x)`` call, which is all a stock classifier makes,
  raises a ``TypeError`` naming ``type='IBImageClassifier'`` in a training forward (the first
  ``train_step``). In evaluation and inference it returns the features: nothing is dropped.
- Stock ``TimmClassifier`` + timm ``*_aib`` model: the timm model cannot tell a stock
  ``TimmClassifier`` from a plain timm loop, which is a legitimate caller (timm's own tests run
  ``model(x).mean().backward()``): both call it and never read ``ib_loss()``. The model itself
  warns once, at the next training forward, when the terms of the last one were never read
  (``AIBNet``); to refuse the model outright before the first step, add
  :class:`IBLossGuardHook` to ``custom_hooks`` (``configs/_base_/aib_hooks.py``). It refuses
  both cases in ``before_train``, naming the IB-aware model type.

``GuardedImageClassifier`` and ``GuardedTimmClassifier`` remain importable as aliases of
MMPretrain's own ``ImageClassifier`` and ``TimmClassifier``.
"""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.models.classifiers import ImageClassifier, TimmClassifier
from mmpretrain.registry import HOOKS

from .neck import IBAttention

#: MMPretrain's own ``ImageClassifier`` (this adapter no longer replaces it).
GuardedImageClassifier = ImageClassifier
#: MMPretrain's own ``TimmClassifier`` (this adapter no longer replaces it).
GuardedTimmClassifier = TimmClassifier


def _is_aib_timm_model(module: object) -> bool:
    from aib_plugin.timm_models import AIBNet

    return isinstance(module, AIBNet)


def check_ib_terms_reach_the_loss(model: object) -> None:
    """Refuse a model whose loss would drop the IB terms of its AIB parts.

    Args:
        model: the runner's model (a model wrapper is unwrapped).

    Raises:
        TypeError: for an ``IBAttention`` neck in a classifier that is not ``IBImageClassifier``,
            or a timm ``*_aib`` model in a ``TimmClassifier`` that is not ``IBTimmClassifier``.
    """
    from .classifier import IBImageClassifier
    from .timm_classifier import IBTimmClassifier

    if is_model_wrapper(model):
        model = model.module
    kind = type(model).__name__
    neck = getattr(model, "neck", None)
    if isinstance(neck, IBAttention) and not isinstance(model, IBImageClassifier):
        raise TypeError(
            f"model type {kind!r} with neck 'IBAttention' would train without the IB loss "
            "terms (loss_kl, loss_vq, loss_commit): its loss reads the head only. Use "
            "model=dict(type='IBImageClassifier', ...)"
        )
    timm_model = getattr(model, "model", None)
    if (
        isinstance(model, TimmClassifier)
        and not isinstance(model, IBTimmClassifier)
        and _is_aib_timm_model(timm_model)
    ):
        cfg = getattr(timm_model, "pretrained_cfg", None) or {}
        name = cfg.get("architecture", f"{timm_model.base_arch}_aib")
        raise TypeError(
            f"model type {kind!r} with the timm model {name!r} would train without the IB loss "
            "terms (loss_kl, loss_vq, loss_commit): its loss reads the logits only. Use "
            "model=dict(type='IBTimmClassifier', ...)"
        )


@HOOKS.register_module()
class IBLossGuardHook(Hook):
    """Refuses, before the first training step, a model that would drop the IB terms.

    ``custom_hooks = [dict(type='IBLossGuardHook')]`` (in ``configs/_base_/aib_hooks.py``);
    see :func:`check_ib_terms_reach_the_loss`.
    """

    priority = "VERY_HIGH"

    def before_train(self, runner) -> None:
        """Check the runner's model.

        Raises:
            TypeError: see :func:`check_ib_terms_reach_the_loss`.
        """
        check_ib_terms_reach_the_loss(runner.model)
