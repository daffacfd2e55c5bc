"""Backbone output layouts -> NCHW."""

import pytest
import torch

from aib_plugin.mmpretrain.layout import detect_format, to_nchw


def test_nchw_passes_through() -> None:
    x = torch.randn(2, 8, 4, 5)
    assert to_nchw(x, 8) is x


def test_nhwc_is_permuted() -> None:
    x = torch.randn(2, 4, 5, 8)
    assert detect_format(x, 8) == "NHWC"
    y = to_nchw(x, 8)
    assert y.shape == (2, 8, 4, 5)
    assert torch.equal(y[1, :, 2, 3], x[1, 2, 3])


@pytest.mark.parametrize("prefix", [0, 1])
def test_tokens_with_and_without_class_token(prefix: int) -> None:
    grid = torch.randn(2, 8, 3, 3)
    tokens = grid.flatten(2).transpose(1, 2)
    if prefix:
        tokens = torch.cat([torch.full((2, 1, 8), 99.0), tokens], dim=1)
    assert torch.equal(to_nchw(tokens, 8), grid)


def test_explicit_prefix_tokens() -> None:
    grid = torch.randn(1, 4, 2, 2)
    tokens = torch.cat([torch.zeros(1, 5, 4), grid.flatten(2).transpose(1, 2)], dim=1)
    assert torch.equal(to_nchw(tokens, 4, "NLC", num_prefix_tokens=5), grid)


def test_non_square_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="num_prefix_tokens"):
        to_nchw(torch.randn(1, 7, 4), 4)


def test_pooled_features_are_refused() -> None:
    with pytest.raises(ValueError, match="spatial feature map"):
        to_nchw(torch.randn(2, 8), 8)


def test_channel_mismatch_names_both_layouts() -> None:
    with pytest.raises(ValueError, match="in_channels=16.*channels 8 as NCHW"):
        to_nchw(torch.randn(2, 8, 4, 4), 16)


def test_forced_format_mismatch() -> None:
    with pytest.raises(ValueError, match="data_format='NHWC'"):
        to_nchw(torch.randn(2, 8, 4, 4), 8, "NHWC")
