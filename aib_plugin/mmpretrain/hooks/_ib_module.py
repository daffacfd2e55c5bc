"""Find the module of a model that exposes the IB attention state to hooks."""

from __future__ import annotations

import torch.nn as nn
from mmpretrain.utils import get_ori_model


def find_ib_module(model: nn.Module) -> nn.Module:
    """Return the first submodule that records ``last_attention`` (e.g. an ``IBAttention`` neck).

    Args:
        model: the runner's model, possibly wrapped in (MM)DistributedDataParallel.

    Raises:
        LookupError: if the model has no such module.
    """
    model = get_ori_model(model)
    for module in model.modules():
        if hasattr(module, "last_attention") and hasattr(module, "last_stats"):
            return module
    raise LookupError(
        f"{type(model).__name__} has no IB attention module (a module with `last_attention` and "
        "`last_stats`, e.g. neck=dict(type='IBAttention')); the IB hooks need one"
    )
