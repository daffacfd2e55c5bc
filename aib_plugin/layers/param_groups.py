"""Optimizer parameter groups with the paper's small learning rate for the anchors."""

from typing import Any

import torch.nn as nn

from ._validate import check_non_negative
from .quantizer import ANCHOR_LR_RATIO, AnchorQuantizer


def ib_param_groups(
    model: nn.Module, lr: float, anchor_lr_ratio: float = ANCHOR_LR_RATIO
) -> list[dict[str, Any]]:
    """Split ``model``'s parameters into a base group and an anchor group at ``lr * ratio``.

    Args:
        model: any module containing :class:`AnchorQuantizer` s (or none).
        lr: the base learning rate.
        anchor_lr_ratio: multiplier for the anchors (paper: 1e-4).

    Returns:
        Parameter groups for a ``torch.optim`` optimizer; the anchor group is left out when the
        model has no anchors.
    """
    check_non_negative("lr", lr)
    check_non_negative("anchor_lr_ratio", anchor_lr_ratio)
    anchor_ids = {id(m.anchors) for m in model.modules() if isinstance(m, AnchorQuantizer)}
    base = [p for p in model.parameters() if id(p) not in anchor_ids]
    anchors = [p for p in model.parameters() if id(p) in anchor_ids]
    groups: list[dict[str, Any]] = [{"params": base, "lr": lr}]
    if anchors:
        groups.append({"params": anchors, "lr": lr * anchor_lr_ratio, "name": "anchors"})
    return groups
