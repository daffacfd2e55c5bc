"""The timm adapter: ``<arch>_aib`` / ``<arch>_aib_qt`` models, registered on import.

``timm.create_model('resnet50_aib', pretrained=True, num_classes=10)``; after a training-mode
forward, ``model.ib_loss().total()`` is the IB part of the loss. Loops that backpropagate
``loss_fn(model(x), y)`` only (timm's ``train.py``) train it with ``ib_loss_in_backward=True``;
users of timm's task API use :class:`AIBClassificationTask` (needs timm >= 1.0.23, ``timm.task``).
"""

from typing import Any

from timm.layers import register_notrace_module

from ..layers import PaperAttentionHead
from ..layers.placement import IBAttentionAdapter, IBSequentialStage, IBWrappedStage
from .export import AttentionOutputWrapper, export_onnx
from .loss_injection import add_to_backward
from .model import AIBNet
from .pretrained import aib_pretrained_cfg, base_to_aib_state_dict
from .registry import (
    BUILTIN_ARCHS,
    DEFAULT_NUM_ANCHORS,
    aib_model_name,
    create_aib_model,
    ensure_aib_model,
    register_aib_model,
)

# its resize-if-needed branch depends on tensor shapes, which fx cannot trace
register_notrace_module(PaperAttentionHead)

__all__ = [
    "BUILTIN_ARCHS",
    "DEFAULT_NUM_ANCHORS",
    "AIBClassificationTask",
    "AIBNet",
    "AttentionOutputWrapper",
    "IBAttentionAdapter",
    "IBSequentialStage",
    "IBWrappedStage",
    "aib_model_name",
    "add_to_backward",
    "aib_pretrained_cfg",
    "base_to_aib_state_dict",
    "create_aib_model",
    "ensure_aib_model",
    "export_onnx",
    "register_aib_model",
]


def __getattr__(name: str) -> Any:
    # imported on first use: timm.task (timm >= 1.0.23) is not needed to build models
    if name == "AIBClassificationTask":
        from .task import AIBClassificationTask

        return AIBClassificationTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
