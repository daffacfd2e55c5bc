"""MMPretrain's stock ``ImageClassifier`` and ``TimmClassifier``, refusing the AIB parts they drop.

A stock classifier computes its loss from the head (or the timm model's logits) alone, so with an
:class:`~aib_plugin.mmpretrain.IBAttention` neck or a timm ``*_aib`` model it would train without
the IB terms (no KL, anchors that never learn) and say nothing. Importing this adapter registers
these subclasses under the stock names (``force=True``): they build and behave exactly as the
stock classes, except that such a model is a clear error naming the IB-aware type.
"""

from __future__ import annotations

from typing import Any

from mmpretrain.models.classifiers import ImageClassifier, TimmClassifier
from mmpretrain.registry import MODELS

from aib_plugin.timm_models import AIBNet

from .neck import IBAttention


@MODELS.register_module(name="ImageClassifier", force=True)
class GuardedImageClassifier(ImageClassifier):
    """MMPretrain's ``ImageClassifier``; an :class:`IBAttention` neck is refused.

    Raises:
        TypeError: if the neck is an ``IBAttention`` (use ``type='IBImageClassifier'``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.neck, IBAttention):
            raise TypeError(
                "model type 'ImageClassifier' with neck 'IBAttention' would train without the IB "
                "loss terms (loss_kl, loss_vq, loss_commit): its loss reads the head only. Use "
                "model=dict(type='IBImageClassifier', ...)"
            )


@MODELS.register_module(name="TimmClassifier", force=True)
class GuardedTimmClassifier(TimmClassifier):
    """MMPretrain's ``TimmClassifier``; a timm ``*_aib`` model of this package is refused.

    Raises:
        TypeError: if the timm model is an ``AIBNet`` (use ``type='IBTimmClassifier'``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.model, AIBNet):
            name = kwargs.get("model_name", args[0] if args else "the *_aib model")
            raise TypeError(
                f"model type 'TimmClassifier' with {name!r} would train without the IB loss "
                "terms (loss_kl, loss_vq, loss_commit): its loss reads the logits only. Use "
                "model=dict(type='IBTimmClassifier', ...)"
            )
