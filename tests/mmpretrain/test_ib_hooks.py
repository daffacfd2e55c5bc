"""The IB statistics travel in the loss dict; the hooks: attention panel, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mmpretrain.registry import HOOKS

from aib_plugin.layers import anchor_usage, attention_statistics, ib_log_dict
from aib_plugin.mmpretrain import IBAttention, attention_panel


def test_statistics_of_a_neck_output() -> None:
    neck = IBAttention(16, 8, num_anchors=4, learn_anchors=True)
    out = neck.forward_ib(torch.randn(2, 16, 4, 4))
    stats = ib_log_dict(out.ib_terms, out.attention_map, out.anchor_indices, neck.num_anchors)
    assert set(stats) == {
        "ib_kl_bits",
        "ib_vq",
        "ib_commit",
        "ib_attn_mean",
        "ib_attn_sparsity",
        "ib_anchor_active",
        "ib_anchor_perplexity",
    }
    assert all(v.dim() == 0 and not v.requires_grad for v in stats.values())
    assert not any("loss" in name for name in stats)  # MMEngine would sum them
    torch.testing.assert_close(stats["ib_kl_bits"], out.ib_terms.kl_bits.detach())
    usage = anchor_usage(out.anchor_indices, 4)  # the same numbers as the quantizer's own
    assert float(stats["ib_anchor_active"]) == usage.active
    assert float(stats["ib_anchor_perplexity"]) == pytest.approx(usage.perplexity, rel=1e-5)


def test_attention_statistics_on_a_known_map() -> None:
    maps = torch.tensor([[[[0.0, 0.05], [0.5, 1.0]]]])
    stats = attention_statistics(maps)
    assert float(stats["attn_mean"]) == pytest.approx(1.55 / 4)
    assert float(stats["attn_sparsity"]) == 0.5  # 0.0 and 0.05 are below 0.1
    assert "anchor_active" not in stats


def test_the_neck_keeps_no_state() -> None:
    neck = IBAttention(16, 8)
    before = set(vars(neck))
    neck.forward_ib(torch.randn(2, 16, 4, 4))
    assert set(vars(neck)) == before
    assert not any(name.startswith("last_") for name in vars(neck))


def test_attention_panel_layout() -> None:
    image = np.full((4, 5, 3), 200, np.uint8)
    attention = np.zeros((4, 5), np.float32)
    attention[0, 0] = 1.0
    panel = attention_panel(image, attention, alpha=0.5)
    assert panel.shape == (4, 15, 3) and panel.dtype == np.uint8
    assert (panel[:, :5] == image).all()
    assert not (panel[0, 5] == panel[1, 6]).all(), "the map does not show the attention"


def test_hooks_are_registered_and_validate() -> None:
    with pytest.raises(ValueError, match="interval"):
        HOOKS.build(dict(type="AttentionVisualizationHook", interval=0))
    assert HOOKS.get("WarmupParamHook") is not None  # the beta warm-up is mmpretrain's own
