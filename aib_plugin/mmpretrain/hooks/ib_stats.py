"""``IBStatsHook``: kept for configs that name it; the statistics moved to the loss dict."""

from __future__ import annotations

import warnings

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class IBStatsHook(Hook):
    """Deprecated: the IB classifiers now put the statistics in their loss dict.

    ``IBImageClassifier`` and ``IBTimmClassifier`` return ``ib_kl_bits``, ``ib_attn_mean``,
    ``ib_attn_sparsity`` (and, with anchors, ``ib_vq``, ``ib_commit``, ``ib_anchor_active``,
    ``ib_anchor_perplexity``) beside the losses; MMEngine logs every key of that dict (and sends
    it to every visualizer backend) and sums only those containing ``loss``. This hook does
    nothing but say so once; remove it from ``custom_hooks``.

    Args:
        interval: ignored (the statistics are logged at ``LoggerHook``'s interval).
        sparsity_threshold: ignored (``aib_plugin.layers.SPARSITY_THRESHOLD``).
    """

    def __init__(self, interval: int = 50, sparsity_threshold: float = 0.1) -> None:
        if interval < 1:
            raise ValueError(f"interval must be >= 1, got {interval}")

    def before_train(self, runner) -> None:
        """Say once that the hook is no longer needed."""
        warnings.warn(
            "IBStatsHook is deprecated and does nothing: the IB classifiers log ib_kl_bits, "
            "ib_attn_mean, ... through their loss dict. Remove it from custom_hooks.",
            DeprecationWarning,
            stacklevel=2,
        )
