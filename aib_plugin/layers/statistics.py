"""Statistics of an IB forward pass for the training log: the attention map and anchor usage."""

from typing import Optional

import torch

from .ib_loss import IBLossTerms

#: Attention values below this count as "off" in ``attn_sparsity``.
SPARSITY_THRESHOLD = 0.1


def attention_statistics(
    attention_mean: torch.Tensor,
    anchor_indices: Optional[torch.Tensor] = None,
    num_anchors: Optional[int] = None,
    sparsity_threshold: float = SPARSITY_THRESHOLD,
) -> dict[str, torch.Tensor]:
    """Detached scalar tensors describing a batch of attention maps.

    Args:
        attention_mean: the maps ``mu_a``, any shape.
        anchor_indices: nearest-anchor indices of the quantized maps, or None.
        num_anchors: Q, needed with ``anchor_indices``.
        sparsity_threshold: values below it count as "off".

    Returns:
        ``attn_mean``, ``attn_sparsity`` (fraction below the threshold) and, with anchors,
        ``anchor_active`` (anchors in use) and ``anchor_perplexity`` (``exp`` of the assignment
        entropy, between 1 and Q; low values show collapse), on the maps' device.
    """
    maps = attention_mean.detach().float()
    stats = {
        "attn_mean": maps.mean(),
        "attn_sparsity": (maps < sparsity_threshold).float().mean(),
    }
    if anchor_indices is not None and num_anchors is not None:
        counts = torch.bincount(anchor_indices.detach().flatten(), minlength=num_anchors).float()
        probs = counts / counts.sum().clamp_min(1.0)
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
        stats["anchor_active"] = (counts > 0).float().sum()
        stats["anchor_perplexity"] = entropy.exp()
    return stats


def ib_log_dict(
    terms: IBLossTerms,
    attention_mean: torch.Tensor,
    anchor_indices: Optional[torch.Tensor] = None,
    num_anchors: Optional[int] = None,
) -> dict[str, torch.Tensor]:
    """The unweighted IB terms and the attention statistics as ``ib_<name>`` tensors.

    For a loss dict: MMEngine logs every key and sums only those containing ``loss``, so these
    reach the training log (and every visualizer backend) without training anything. The
    unweighted area term is the attention mean again and is left out.
    """
    stats = {name: value for name, value in terms.unweighted().items() if name != "area"}
    stats.update(attention_statistics(attention_mean, anchor_indices, num_anchors))
    return {f"ib_{name}": value for name, value in stats.items()}
