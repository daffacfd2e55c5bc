"""``IBStatsHook``: log KL, anchor usage and attention statistics during training."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from aib_plugin.layers import anchor_usage

from ._ib_module import find_ib_module


def ib_statistics(module: nn.Module, sparsity_threshold: float = 0.1) -> dict[str, float]:
    """Statistics of the last forward pass of an IB attention module.

    Args:
        module: a module with ``last_attention``, ``last_stats`` and optionally
            ``last_anchor_indices`` / ``num_anchors`` (e.g. ``IBAttention``).
        sparsity_threshold: attention values below this count as "off".

    Returns:
        ``kl_bits`` (unweighted KL in bits), ``attn_mean``, ``attn_sparsity`` (fraction of the
        attention mean below the threshold), ``vq`` / ``commit`` (unweighted anchor losses) and
        ``anchor_active`` / ``anchor_perplexity`` with anchors. Empty before the first forward.
    """
    attention: Optional[torch.Tensor] = module.last_attention
    if attention is None:
        return {}
    # the unweighted area term is the attention mean again: logged once, as attn_mean
    stats = {name: float(v) for name, v in module.last_stats.items() if name != "area"}
    attention = attention.float()
    stats["attn_mean"] = float(attention.mean())
    stats["attn_sparsity"] = float((attention < sparsity_threshold).float().mean())
    indices = getattr(module, "last_anchor_indices", None)
    num_anchors = getattr(module, "num_anchors", None)
    if indices is not None and num_anchors is not None:
        usage = anchor_usage(indices, num_anchors)
        stats["anchor_active"] = float(usage.active)
        stats["anchor_perplexity"] = usage.perplexity
    return stats


@HOOKS.register_module()
class IBStatsHook(Hook):
    """Put IB statistics of the current batch into the MessageHub every ``interval`` iterations.

    The values land under ``train/ib_<name>`` (see :func:`ib_statistics`), so ``LoggerHook``
    prints them and sends them to every visualizer backend (TensorBoard, W&B). They describe the
    batch of the logging process (rank 0 in distributed runs). Runs before ``LoggerHook``.

    Args:
        interval: iterations between two updates (match ``LoggerHook``'s interval).
        sparsity_threshold: attention values below this count as "off" in ``attn_sparsity``.
    """

    priority = "NORMAL"

    def __init__(self, interval: int = 50, sparsity_threshold: float = 0.1) -> None:
        if interval < 1:
            raise ValueError(f"interval must be >= 1, got {interval}")
        self.interval = interval
        self.sparsity_threshold = sparsity_threshold

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Union[dict, tuple, list, None] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        """Update the MessageHub at the interval and at the end of each epoch."""
        if not (
            self.every_n_train_iters(runner, self.interval)
            or self.end_of_epoch(runner.train_dataloader, batch_idx)
        ):
            return
        stats = ib_statistics(find_ib_module(runner.model), self.sparsity_threshold)
        runner.message_hub.update_scalars({f"train/ib_{k}": v for k, v in stats.items()})
