"""Build-time shape probes: run a backbone on a zero image to see what a module receives.

Both adapters size the attention from the feature map at its place: the timm models from the
input (or output) of the stage the attention wraps, the MMPretrain classifier from the
backbone's outputs and the input of the module ``attention_at`` names.
"""

from collections.abc import Callable, Sequence
from typing import Any, Optional, Union

import torch
import torch.nn as nn

Size = Union[int, tuple[int, int]]


class _ProbeDone(Exception):
    """Raised by the probe hook: the wanted tensor is captured, the rest need not run."""


def first_conv_in_channels(model: nn.Module, default: int = 3) -> int:
    """``in_channels`` of the first ``nn.Conv2d`` of ``model``, or ``default`` if it has none."""
    stem = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return default if stem is None else int(stem.in_channels)


def probe_forward(
    model: nn.Module,
    sizes: Sequence[Size],
    in_chans: Optional[int] = None,
    forward: Optional[Callable[[torch.Tensor], Any]] = None,
) -> Any:
    """What ``forward`` returns for one zero image, in eval mode and without gradients.

    Args:
        model: the module to run; its training mode is restored afterwards.
        sizes: image sides (an int, or (H, W)) to try in turn; the first one that runs counts.
        in_chans: channels of the zero image; None means those of the first ``nn.Conv2d``.
        forward: what to call (e.g. ``model.forward_features``); None means ``model``.

    Returns:
        The output of the first size that ran.

    Raises:
        RuntimeError: if every size failed, naming each size and its error.
    """
    if not sizes:
        raise ValueError("probe_forward: sizes must name at least one image size, got none")
    channels = first_conv_in_channels(model) if in_chans is None else in_chans
    run = model if forward is None else forward
    was_training = model.training
    model.eval()
    errors = []
    try:
        for size in sizes:
            height, width = (size, size) if isinstance(size, int) else size
            try:
                with torch.no_grad():
                    return run(torch.zeros(1, channels, height, width))
            except _ProbeDone:
                raise
            except Exception as err:  # a size the model does not accept: try the next one
                errors.append(f"{height}x{width}: {err}")
    finally:
        model.train(was_training)
    raise RuntimeError(
        f"could not run {type(model).__name__} on a zero image of {channels} channels: "
        + "; ".join(errors)
    )


def probe_module(
    model: nn.Module,
    path: str,
    sizes: Sequence[Size],
    in_chans: Optional[int] = None,
    forward: Optional[Callable[[torch.Tensor], Any]] = None,
    at_input: bool = True,
) -> Any:
    """The input (or output) of ``model``'s module at ``path`` during :func:`probe_forward`.

    The forward stops as soon as that module has been reached. Arguments are those of
    :func:`probe_forward`, plus:

    Args:
        path: dotted path of the module (``'layer4'``, ``'stages.3.blocks'``).
        at_input: capture the module's first positional input; False: its output.

    Raises:
        ValueError: if ``path`` is not a module of ``model``.
        RuntimeError: if no size ran up to the module, or the forward never reached it.
    """
    try:
        module = model.get_submodule(path)
    except AttributeError:
        raise ValueError(f"{path!r} is not a module of {type(model).__name__}") from None
    captured: list[Any] = []

    def pre_hook(_module: nn.Module, args: tuple) -> None:
        captured.append(args[0] if args else None)
        raise _ProbeDone

    def post_hook(_module: nn.Module, _args: tuple, output: Any) -> None:
        captured.append(output)
        raise _ProbeDone

    if at_input:
        handle = module.register_forward_pre_hook(pre_hook)
    else:
        handle = module.register_forward_hook(post_hook)
    try:
        probe_forward(model, sizes, in_chans, forward)
    except _ProbeDone:
        pass
    finally:
        handle.remove()
    if not captured:
        raise RuntimeError(f"the forward of {type(model).__name__} never ran its module {path!r}")
    return captured[0]
