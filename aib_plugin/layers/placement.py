"""One placement mechanism: the attention modulates the input (or output) of module M.

An :class:`IBSpatialAttention` is spliced into a backbone itself, at the module a path names
(timm: ``layer4``, ``stages.3.blocks``, ``blocks.10``; MMPretrain: ``layer4`` of the backbone),
so the backbone's own forward, ``forward_intermediates``, grad checkpointing and feature
extraction all run through it unchanged. :func:`capture_attention` hands its output to the
caller for the duration of one forward.
"""

import contextlib
import inspect
from collections import OrderedDict
from collections.abc import Iterator
from typing import Optional

import torch
import torch.fx
import torch.nn as nn

from .ib_attention import AttentionOutput, IBSpatialAttention

#: Layouts of the tensor the attention sees: channels first, channels last, or tokens.
LAYOUTS = ("NCHW", "NHWC", "NLC")


class CapturedAttention:
    """What an attention module returned inside :func:`capture_attention`."""

    def __init__(self) -> None:
        self.outputs: list[AttentionOutput] = []

    @property
    def last(self) -> Optional[AttentionOutput]:
        """The last output, or None if the attention did not run."""
        return self.outputs[-1] if self.outputs else None


@contextlib.contextmanager
def capture_attention(attention: IBSpatialAttention) -> Iterator[CapturedAttention]:
    """Collect what ``attention`` returns while the block runs (a forward hook for its duration).

    The attention sits inside a backbone whose forward returns a tensor only; this hands its
    output to the caller as a return value, with nothing left on any module afterwards (a
    gradient-checkpointing recompute in backward is not collected).
    """
    captured = CapturedAttention()
    handle = attention.register_forward_hook(
        lambda _module, _args, output: captured.outputs.append(output)
    )
    try:
        yield captured
    finally:
        handle.remove()


def is_tracing() -> bool:
    """True while torch.fx symbolically traces (side effects must not be recorded then)."""
    return torch.fx._symbolic_trace.is_fx_symbolic_tracing()


class IBAttentionAdapter(nn.Module):
    """Runs an :class:`IBSpatialAttention` on a stage input in any of the :data:`LAYOUTS`.

    Token inputs (B, prefix + H * W, C) have their prefix (class / register) tokens passed
    through untouched and their patch tokens modulated on the (H, W) grid. The adapter keeps no
    state: the :class:`AttentionOutput` of a pass is what ``attention`` returns, which
    :func:`capture_attention` collects for the caller.

    Args:
        attention: the attention module (channels = the stage input's channels).
        layout: ``'NCHW'``, ``'NHWC'`` or ``'NLC'``.
        grid_size: (H, W) of the patch grid; required for ``'NLC'``.
        num_prefix_tokens: leading non-patch tokens for ``'NLC'``.
    """

    __constants__ = ["layout", "num_prefix_tokens"]

    def __init__(
        self,
        attention: IBSpatialAttention,
        layout: str = "NCHW",
        grid_size: Optional[tuple[int, int]] = None,
        num_prefix_tokens: int = 0,
    ) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if layout == "NLC" and grid_size is None:
            raise ValueError("layout 'NLC' (tokens) needs the patch grid_size (H, W)")
        self.attn = attention
        self.layout = layout
        self.grid_size = (0, 0) if grid_size is None else (int(grid_size[0]), int(grid_size[1]))
        self.num_prefix_tokens = num_prefix_tokens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the modulated input, same layout (S * B rows with S evaluation samples)."""
        if self.layout == "NCHW":
            out = self.attn(x)
            y = out.modulated
        elif self.layout == "NHWC":
            out = self.attn(x.permute(0, 3, 1, 2))
            y = out.modulated.permute(0, 2, 3, 1)
        else:
            p = self.num_prefix_tokens
            h, w = self.grid_size
            patches = x[:, p:]
            grid = patches.transpose(1, 2).reshape(patches.shape[0], patches.shape[2], h, w)
            out = self.attn(grid)
            tokens = out.modulated.flatten(2).transpose(1, 2)
            prefix = x[:, :p]
            repeats = 1 if self.training else self.attn.mc_samples
            if repeats > 1:
                prefix = prefix.repeat(repeats, 1, 1)
            y = torch.cat([prefix, tokens], dim=1)
        return y

    def extra_repr(self) -> str:
        extra = f", grid_size={self.grid_size}, prefix={self.num_prefix_tokens}"
        return f"layout={self.layout!r}" + (extra if self.layout == "NLC" else "")


class IBSequentialStage(nn.Sequential):
    """An ``nn.Sequential`` stage with the attention added as its first (or last) child.

    The stage's own children keep their names, so the base model's state-dict keys are unchanged
    and ``checkpoint_seq(..., flatten=True)`` still iterates the blocks.
    """

    @classmethod
    def wrap(
        cls, stage: nn.Sequential, adapter: IBAttentionAdapter, at_input: bool
    ) -> "IBSequentialStage":
        """Build the stage; the constructor itself is ``nn.Sequential``'s (slicing needs it)."""
        modules: OrderedDict[str, nn.Module] = OrderedDict()
        if at_input:
            modules["ib_attention"] = adapter
        modules.update(stage.named_children())
        if not at_input:
            modules["ib_attention"] = adapter
        return cls(modules)


class IBWrappedStage(nn.Module):
    """Any other stage module, run after (or before) the attention.

    The stage moves to ``<path>.stage``; :func:`aib_plugin.timm_models.base_to_aib_state_dict`
    maps base checkpoints accordingly. ``grad_checkpointing`` is forwarded to the stage.
    """

    __jit_unused_properties__ = ["grad_checkpointing"]
    __constants__ = ["at_input"]

    def __init__(self, stage: nn.Module, adapter: IBAttentionAdapter, at_input: bool) -> None:
        super().__init__()
        self.ib_attention = adapter
        self.stage = stage
        self.at_input = at_input

    @property
    def grad_checkpointing(self) -> bool:
        return bool(getattr(self.stage, "grad_checkpointing", False))

    @grad_checkpointing.setter
    def grad_checkpointing(self, enable: bool) -> None:
        if hasattr(self.stage, "grad_checkpointing"):
            self.stage.grad_checkpointing = enable

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.at_input:
            return self.stage(self.ib_attention(x))
        return self.ib_attention(self.stage(x))


class IBWrappedBlock(IBWrappedStage):
    """:class:`IBWrappedStage` for transformer blocks called with ``attn_mask`` / ``is_causal``."""

    def forward(
        self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, is_causal: bool = False
    ) -> torch.Tensor:
        if self.at_input:
            return self.stage(self.ib_attention(x), attn_mask=attn_mask, is_causal=is_causal)
        return self.ib_attention(self.stage(x, attn_mask=attn_mask, is_causal=is_causal))


def wrap_stage(stage: nn.Module, adapter: IBAttentionAdapter, at_input: bool) -> nn.Module:
    """Return ``stage`` with ``adapter`` spliced in front of it (``at_input``) or behind it."""
    if isinstance(stage, nn.Sequential) and type(stage).forward is nn.Sequential.forward:
        # plain Sequential stages (timm's, MMPretrain's ResLayer): keys stay where they were
        return IBSequentialStage.wrap(stage, adapter, at_input)
    params = inspect.signature(stage.forward).parameters
    if "attn_mask" in params and "is_causal" in params:
        return IBWrappedBlock(stage, adapter, at_input)
    return IBWrappedStage(stage, adapter, at_input)


def set_submodule(root: nn.Module, path: str, module: nn.Module) -> None:
    """Replace the submodule of ``root`` at dotted ``path`` with ``module``."""
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, module)
