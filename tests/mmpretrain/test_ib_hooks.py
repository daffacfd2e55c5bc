"""Hook helpers: statistics and the attention panel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mmpretrain.registry import HOOKS

from aib_plugin.mmpretrain import IBAttention, attention_panel, ib_statistics
from aib_plugin.mmpretrain.hooks._ib_module import find_ib_module


def test_statistics_of_a_forward_pass() -> None:
    neck = IBAttention(16, 8, num_anchors=4, learn_anchors=True, standalone=True)
    assert ib_statistics(neck) == {}
    neck(torch.randn(2, 16, 4, 4))
    stats = ib_statistics(neck, sparsity_threshold=1.1)
    assert stats["attn_sparsity"] == 1.0  # every sigmoid value is below 1.1
    assert 0.0 < stats["attn_mean"] < 1.0
    assert 1 <= stats["anchor_active"] <= 4 and 1.0 <= stats["anchor_perplexity"] <= 4.0
    assert stats["kl_bits"] == pytest.approx(float(neck.last_stats["kl_bits"]))
    assert {"vq", "commit"} <= stats.keys()


def test_statistics_without_anchors() -> None:
    neck = IBAttention(16, 8, standalone=True)
    neck(torch.randn(2, 16, 4, 4))
    assert "anchor_active" not in ib_statistics(neck)


def test_attention_panel_layout() -> None:
    image = np.full((4, 5, 3), 200, np.uint8)
    attention = np.zeros((4, 5), np.float32)
    attention[0, 0] = 1.0
    panel = attention_panel(image, attention, alpha=0.5)
    assert panel.shape == (4, 15, 3) and panel.dtype == np.uint8
    assert (panel[:, :5] == image).all()
    assert not (panel[0, 5] == panel[1, 6]).all(), "the map does not show the attention"


def test_find_ib_module_explains_what_is_missing() -> None:
    with pytest.raises(LookupError, match="IBAttention"):
        find_ib_module(torch.nn.Linear(2, 2))


def test_hooks_are_registered_and_validate() -> None:
    assert HOOKS.build(dict(type="IBStatsHook", interval=3)).interval == 3
    with pytest.raises(ValueError, match="interval"):
        HOOKS.build(dict(type="AttentionVisualizationHook", interval=0))
    assert HOOKS.get("WarmupParamHook") is not None  # the beta warm-up is mmpretrain's own
