"""Train an auxiliary loss through the gradient of a model's output (``ib_loss_in_backward``).

A training loop that backpropagates ``loss_fn(model(x), y)`` only (timm's ``train.py``, its
``ClassificationTask``, most hand-written loops) never sees the IB terms. :func:`add_to_backward`
returns the output unchanged and ties the auxiliary loss to it: when any ``loss.backward()``
reaches the output, the auxiliary loss receives the gradient ``grad_scale`` (1 by default), as if
``loss + grad_scale * aux`` had been backpropagated. Megatron-LM trains its MoE load-balancing
losses the same way.

What it cannot see, and the model therefore checks (``AIBNet``): a loss scaled before backward
(fp16 ``GradScaler``, ``loss / grad_accum_steps``) scales the output's gradient but not the
injected one, and a loss that does not use the output never reaches it.
"""

import weakref
from collections.abc import Callable
from typing import Optional

import torch


class _Token:
    """Lives as long as the backward node that holds it (a weakref target for a finalizer)."""


class _AddToBackward(torch.autograd.Function):
    """Identity on ``output``; backward also gives ``aux`` the gradient ``grad_scale``."""

    @staticmethod
    def forward(ctx, output, aux, grad_scale, on_backward, on_dropped):  # type: ignore[override]
        ctx.grad_scale = grad_scale
        ctx.aux_dtype = aux.dtype
        ctx.aux_device = aux.device
        ctx.on_backward = on_backward
        ctx.reached = [False]
        if on_dropped is not None:
            ctx.token = _Token()
            reached = ctx.reached
            # runs when the graph (and this node) is freed; reports a node backward never reached
            finalizer = weakref.finalize(ctx.token, lambda: None if reached[0] else on_dropped())
            finalizer.atexit = False
        # a new tensor, not a view: the loss may modify the logits in place
        return output.clone()

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[override]
        ctx.reached[0] = True
        if ctx.on_backward is not None:
            ctx.on_backward()
        aux_grad = torch.full((), ctx.grad_scale, dtype=ctx.aux_dtype, device=ctx.aux_device)
        return grad_output, aux_grad, None, None, None


@torch.compiler.disable  # runs eagerly under torch.compile: it keeps Python state
def add_to_backward(
    output: torch.Tensor,
    aux: torch.Tensor,
    grad_scale: float = 1.0,
    on_backward: Optional[Callable[[], None]] = None,
    on_dropped: Optional[Callable[[], None]] = None,
) -> torch.Tensor:
    """Return ``output`` (a copy) such that backward through it also backpropagates ``aux``.

    Args:
        output: the tensor the training loss will be computed from (logits, or z).
        aux: a scalar auxiliary loss (the weighted IB total).
        grad_scale: the gradient ``aux`` receives; 1 adds ``aux`` to the loss as is.
        on_backward: called when backward reaches ``output``, before any parameter below it has
            received its gradient from that pass (it may raise to refuse the backward).
        on_dropped: called when the autograd graph of ``output`` is freed without backward ever
            having reached it (the loss did not use ``output``).

    Returns:
        A tensor equal to ``output``, of the same dtype and shape.
    """
    if aux.dim() != 0:
        raise ValueError(f"add_to_backward: aux must be a scalar, got shape {tuple(aux.shape)}")
    return _AddToBackward.apply(output, aux, float(grad_scale), on_backward, on_dropped)
