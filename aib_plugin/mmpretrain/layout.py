"""Turn backbone outputs (NCHW maps, NHWC maps, token sequences) into NCHW feature maps."""

from __future__ import annotations

import math
from typing import Optional

import torch

#: Layouts :func:`to_nchw` understands; ``'auto'`` decides from the shape and channel count.
DATA_FORMATS = ("auto", "NCHW", "NHWC", "NLC")


def _square_side(length: int) -> Optional[int]:
    side = math.isqrt(length)
    return side if side * side == length and side > 0 else None


def _tokens_to_nchw(x: torch.Tensor, num_prefix_tokens: Optional[int]) -> torch.Tensor:
    batch, length, channels = x.shape
    if num_prefix_tokens is None:
        for prefix in (0, 1):  # no class token, or one (ViT's cls token)
            if length > prefix and _square_side(length - prefix) is not None:
                num_prefix_tokens = prefix
                break
        else:
            raise ValueError(
                f"IBAttention cannot lay {length} tokens out on a square grid (tried 0 and 1 "
                "prefix tokens); set num_prefix_tokens (class/register tokens) or use a backbone "
                "output with a spatial map (e.g. out_type='featmap')"
            )
    side = _square_side(length - num_prefix_tokens)
    if side is None:
        raise ValueError(
            f"IBAttention: {length} tokens minus num_prefix_tokens={num_prefix_tokens} is not a "
            "square grid"
        )
    grid = x[:, num_prefix_tokens:, :].reshape(batch, side, side, channels)
    return grid.permute(0, 3, 1, 2).contiguous()


def detect_format(x: torch.Tensor, channels: int) -> str:
    """Guess the layout of ``x`` from its shape and the expected channel count.

    NCHW wins when both the second and the last dimension equal ``channels`` (the MMPretrain
    convention).

    Raises:
        ValueError: if the shape fits no layout with ``channels`` channels.
    """
    shape = tuple(x.shape)
    if x.dim() == 4:
        if shape[1] == channels:
            return "NCHW"
        if shape[-1] == channels:
            return "NHWC"
        raise ValueError(
            f"IBAttention was built with in_channels={channels}, but the backbone stage gives "
            f"a map of shape {shape} (channels {shape[1]} as NCHW or {shape[-1]} as NHWC); set "
            "the neck's in_channels to the backbone's output channels"
        )
    if x.dim() == 3:
        if shape[-1] == channels:
            return "NLC"
        raise ValueError(
            f"IBAttention was built with in_channels={channels}, but the backbone stage gives "
            f"tokens of shape {shape} (embedding size {shape[-1]}); set the neck's in_channels "
            "to the backbone's embedding size"
        )
    if x.dim() == 2:
        raise ValueError(
            f"IBAttention needs a spatial feature map, but the backbone stage gives pooled "
            f"features of shape {shape}; make the backbone return maps or tokens (e.g. "
            "VisionTransformer out_type='featmap', no global pool in TIMMBackbone)"
        )
    raise ValueError(f"IBAttention cannot use a backbone output of shape {shape}")


def infer_channels(x: torch.Tensor, data_format: str = "auto") -> int:
    """The channel count of a backbone output in ``data_format`` (``'auto'``: a 4-d map is
    NCHW, the MMPretrain convention; a 3-d one is tokens (B, L, C)).

    Raises:
        ValueError: if ``x`` is not a spatial map or a token sequence.
    """
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"IBAttention needs a spatial feature map (B, C, H, W), (B, H, W, C) or tokens "
            f"(B, L, C) from the backbone, got {shape}"
        )
    if data_format == "NCHW" or (data_format == "auto" and x.dim() == 4):
        return int(x.shape[1])
    return int(x.shape[-1])


def to_nchw(
    x: torch.Tensor,
    channels: int,
    data_format: str = "auto",
    num_prefix_tokens: Optional[int] = None,
) -> torch.Tensor:
    """Return ``x`` as an NCHW map with ``channels`` channels.

    Args:
        x: a backbone output: (B, C, H, W), (B, H, W, C) or tokens (B, L, C).
        channels: the channel count the neck was built for.
        data_format: one of :data:`DATA_FORMATS`.
        num_prefix_tokens: tokens to drop before a token grid (class / register tokens); None
            infers 0 or 1 from a square grid.

    Raises:
        ValueError: with the shape and the fix when ``x`` does not fit.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"IBAttention expects tensors from the backbone, got {type(x).__name__}")
    fmt = detect_format(x, channels) if data_format == "auto" else data_format
    expected_dim = {"NCHW": 4, "NHWC": 4, "NLC": 3}[fmt]
    channel_dim = 1 if fmt == "NCHW" else -1
    if x.dim() != expected_dim or x.shape[channel_dim] != channels:
        raise ValueError(
            f"IBAttention was built with in_channels={channels} and data_format={fmt!r}, but the "
            f"backbone stage gives shape {tuple(x.shape)}; fix in_channels or data_format"
        )
    if fmt == "NHWC":
        return x.permute(0, 3, 1, 2).contiguous()
    if fmt == "NLC":
        return _tokens_to_nchw(x, num_prefix_tokens)
    return x
