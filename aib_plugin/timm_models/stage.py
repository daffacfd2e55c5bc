"""The placement of the attention in a backbone lives in :mod:`aib_plugin.layers.placement`.

Both adapters use it (timm models and ``IBAttention(attention_at=...)``); this module keeps the
names importable from the timm adapter.
"""

from ..layers.placement import (
    LAYOUTS,
    CapturedAttention,
    IBAttentionAdapter,
    IBSequentialStage,
    IBWrappedBlock,
    IBWrappedStage,
    capture_attention,
    is_tracing,
    set_submodule,
    wrap_stage,
)

__all__ = [
    "LAYOUTS",
    "CapturedAttention",
    "IBAttentionAdapter",
    "IBSequentialStage",
    "IBWrappedBlock",
    "IBWrappedStage",
    "capture_attention",
    "is_tracing",
    "set_submodule",
    "wrap_stage",
]
