"""Where the attention goes in a timm backbone: the ``attention_at`` option, made a module path.

``attention_at`` is a ``feature_info`` stage index, ``'output'`` or a dotted module path; the
attention (:mod:`aib_plugin.layers.placement`) is spliced in at that module, sized from the
feature map a zero-image probe (:mod:`aib_plugin.layers.probe`) finds there.
"""

from typing import Any, Optional, Union

import torch
import torch.nn as nn

from ..layers import (
    ConvAttentionHead,
    IBAttentionAdapter,
    IBOptions,
    PaperAttentionHead,
    set_submodule,
    stride_one_copy,
    wrap_stage,
)
from ..layers.probe import probe_module

#: Attention heads: the light default, the authors' stride-1 stage copy, one kxk conv.
HEADS = ("light", "paper", "conv")

#: A feature stage index, ``'output'`` or a dotted module path of the base.
Placement = Union[int, str]


def placement_option(
    attention_at: Optional[Placement], attention_stage: Optional[Placement]
) -> tuple[str, Optional[Placement]]:
    """``(name, value)`` of the placement option given: ``attention_at`` or its alias.

    Raises:
        ValueError: if both are given.
    """
    if attention_stage is None:
        return "attention_at", attention_at
    if attention_at is not None:
        raise ValueError(
            f"give attention_at or its alias attention_stage, not both (got "
            f"attention_at={attention_at!r}, attention_stage={attention_stage!r})"
        )
    return "attention_stage", attention_stage


def _stage_path(base: nn.Module, arch: str, feature_info: list, name: str, at: Placement) -> str:
    """Module path of the stage the attention goes in front of (or behind, for ``'output'``)."""
    if at == "output":
        return feature_info[-1]["module"]
    if isinstance(at, str):
        try:
            base.get_submodule(at)
        except AttributeError:
            raise ValueError(
                f"{name}={at!r} is not a module of {arch} (give a feature stage index, "
                "'output', or a dotted module path)"
            ) from None
        return at
    if isinstance(at, bool) or not isinstance(at, int):
        raise TypeError(f"{name} must be an int, 'output' or a module path, got {at!r}")
    if not -len(feature_info) <= at < len(feature_info):
        raise ValueError(
            f"{name}={at} is out of range for {arch}'s {len(feature_info)} feature stages"
        )
    return feature_info[at]["module"]


def _probe(base: nn.Module, path: str, at_input: bool, in_chans: int) -> Any:
    """The input (or output) of the base's module at ``path`` on a zero image."""
    cfg_size = tuple(getattr(base, "pretrained_cfg", {}).get("input_size", (3, 224, 224))[-2:])
    try:
        return probe_module(
            base, path, ((64, 64), cfg_size), in_chans, base.forward_features, at_input
        )
    except RuntimeError as err:
        raise RuntimeError(
            f"could not run the backbone up to '{path}' to find its feature map shape: {err}"
        ) from err


def _attention_layout(base: nn.Module, feat: Any, arch: str, where: str) -> dict[str, Any]:
    """Work out layout, channels and token grid of the feature map the attention will see."""
    if not isinstance(feat, torch.Tensor) or feat.dim() not in (3, 4):
        shape = tuple(feat.shape) if isinstance(feat, torch.Tensor) else type(feat).__name__
        raise TypeError(
            f"{arch}: the feature map at {where} is not spatial (got {shape}); IB spatial "
            "attention needs (B, C, H, W), (B, H, W, C) or patch tokens (B, N, C)"
        )
    if feat.dim() == 4:
        nhwc = getattr(base, "output_fmt", "NCHW") == "NHWC"
        return dict(layout="NHWC" if nhwc else "NCHW", chs=int(feat.shape[-1 if nhwc else 1]))
    prefix = int(getattr(base, "num_prefix_tokens", 0))
    grid = getattr(getattr(base, "patch_embed", None), "grid_size", None)
    if grid is None or int(grid[0]) * int(grid[1]) + prefix != feat.shape[1]:
        raise TypeError(
            f"{arch}: the token sequence at {where} (shape {tuple(feat.shape)}) does not map to a "
            f"patch grid (patch_embed.grid_size={grid}, num_prefix_tokens={prefix})"
        )
    return dict(layout="NLC", chs=int(feat.shape[-1]), grid_size=tuple(grid), prefix=prefix)


def place_attention(
    base: nn.Module,
    arch: str,
    option_name: str,
    at: Optional[Placement],
    head: str,
    options: IBOptions,
    in_chans: int,
    head_classes: int,
) -> str:
    """Splice an IB attention into ``base`` at the place ``at`` names; return its module path.

    Args:
        base: the timm model (built with ``num_classes=0``); changed in place.
        arch: its name, for messages.
        option_name: the keyword the caller gave ``at`` as (``attention_at`` or its alias).
        at: a ``feature_info`` index, ``'output'``, a module path, or None for the default
            (the last stage; the one before it for class-token-pooled token models).
        head: one of :data:`HEADS`.
        options: the IB options that build the attention.
        in_chans: channels of the probe image.
        head_classes: outputs of a ``'paper'`` head's classifier (the classes, or K).

    Raises:
        TypeError: for a base without ``feature_info`` or a non-spatial map at the place.
        ValueError: for a place out of range, not a module, or one the logits would not see.
    """
    feature_info = getattr(base, "feature_info", None)
    if not feature_info:
        raise TypeError(f"{arch} has no feature_info: cannot find its stages")
    at_input = at != "output"
    token_pooled = getattr(base, "global_pool", None) == "token"
    if at is None:
        at = -2 if token_pooled and len(feature_info) > 2 else -1
    path = _stage_path(base, arch, feature_info, option_name, at)
    where = f"the {'input' if at_input else 'output'} of '{path}'"
    info = _attention_layout(base, _probe(base, path, at_input, in_chans), arch, where)
    last = feature_info[-1]["module"]
    if info["layout"] == "NLC" and token_pooled and (path == last or not at_input):
        raise ValueError(
            f"{arch} pools its class token, which reads the patch tokens of the last "
            f"block only through a per-token LayerNorm: attention at {where} would not "
            f"change the logits. Use {option_name}=-2 (or earlier), or global_pool='avg'"
        )
    stage = base.get_submodule(path)
    if head == "paper":
        if info["layout"] != "NCHW" or not at_input:
            raise ValueError(
                "head='paper' needs a convolutional (NCHW) stage and attention at its input; "
                f"{arch} at {where} gives layout {info['layout']}"
            )
        stage_chs = int(_probe(base, path, False, in_chans).shape[1])
        att_head: nn.Module = PaperAttentionHead(stride_one_copy(stage), stage_chs, head_classes)
    elif head == "conv":
        att_head = ConvAttentionHead(info["chs"], kernel_size=options.head_kernel_size)
    else:
        att_head = options.light_head(info["chs"])
    attention = options.attention(info["chs"], att_head)
    adapter = IBAttentionAdapter(
        attention, info["layout"], info.get("grid_size"), info.get("prefix", 0)
    )
    set_submodule(base, path, wrap_stage(stage, adapter, at_input))
    return path
