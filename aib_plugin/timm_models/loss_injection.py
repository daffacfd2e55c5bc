"""Train an auxiliary loss through the gradient of a model's output (``ib_loss_in_backward``).

A training loop that backpropagates ``loss_fn(model(x), y)`` only (timm's ``train.py``, its
``ClassificationTask``, most hand-written loops) never sees the IB terms. :func:`add_to_backward`
returns the output unchanged and ties the auxiliary loss to it: when any ``loss.backward()``
reaches the output, the auxiliary loss receives the gradient ``grad_scale`` (1 by default), as if
``loss + grad_scale * aux`` had been backpropagated. Megatron-LM trains its MoE load-balancing
losses the same way.

What it cannot see, :class:`IBLossTracker` checks for the model: a loss scaled before backward
(fp16 ``GradScaler``, ``loss / grad_accum_steps``) scales the output's gradient but not the
injected one, and a loss that does not use the output never reaches it. The tracker also keeps
the IB terms of the last training forward for ``AIBNet.ib_loss()`` and warns once when a loop
without injection never reads them.
"""

import math
import warnings
import weakref
from collections.abc import Callable
from typing import Any, Optional

import torch

from ..layers import IBLossTerms


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


def check_injection_options(in_backward: Any, grad_scale: Any) -> None:
    """Refuse an ``ib_loss_in_backward`` that is not a bool, or a bad ``ib_loss_grad_scale``."""
    if not isinstance(in_backward, bool):
        raise TypeError(f"ib_loss_in_backward must be True or False, got {in_backward!r}")
    if grad_scale is None:
        return
    if (
        isinstance(grad_scale, bool)
        or not isinstance(grad_scale, (int, float))
        or not math.isfinite(grad_scale)
        or grad_scale <= 0
    ):
        raise ValueError(
            "ib_loss_grad_scale must be a positive number (1/N for N gradient-accumulation "
            f"steps, written as a decimal, e.g. 0.25) or None, got {grad_scale!r}"
        )


def _autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    try:
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
    except RuntimeError:  # a device type this build does not know
        pass
    return None


def _check_not_fp16(out: torch.Tensor) -> None:
    """Refuse fp16 under ``ib_loss_in_backward``: a GradScaler would not scale the IB terms."""
    devices = {out.device.type, "cpu", "cuda"}
    autocast = [d for d in sorted(devices) if _autocast_dtype(d) == torch.float16]
    if out.dtype == torch.float16 or autocast:
        where = f"fp16 autocast on {', '.join(autocast)}" if autocast else "fp16 outputs"
        raise RuntimeError(
            f"AIBNet(ib_loss_in_backward=True) refuses {where}: fp16 training scales the loss "
            "with a GradScaler, which cannot scale the IB terms injected into backward, so they "
            "would be trained at 1/scale. Use bf16 autocast (timm's train.py: --amp "
            "--amp-dtype bfloat16), or leave ib_loss_in_backward off and add "
            "model.ib_loss().total() to the loss the scaler scales "
            "(aib_plugin.timm_models.AIBClassificationTask does that)."
        )


class IBLossTracker:
    """The IB terms of a model's last training forward, until a loss takes them.

    A loss takes them either by reading them (:meth:`take`, the model's ``ib_loss()``) or, with
    ``in_backward``, through the gradient of the output :meth:`record` returns. A training
    forward whose terms no loss took is refused (with injection: the loss did not use the
    output) or warned about once (without: the loop never called ``ib_loss()``).
    """

    def __init__(self) -> None:
        self.terms: Optional[IBLossTerms] = None
        self.state = "no forward yet"
        self._read = True  # the terms of the last training forward reached a loss
        self._unread_warned = False
        self._dropped = False  # an injected output's graph was freed without backward

    def clear(self) -> None:
        """Forget the terms: the last forward was in evaluation mode."""
        self.terms = None
        self.state = "the last forward was in eval mode"

    def record(
        self,
        terms: IBLossTerms,
        output: torch.Tensor,
        in_backward: bool,
        grad_scale: Optional[float],
        grad_probe: Callable[[], Optional[torch.Tensor]],
    ) -> torch.Tensor:
        """Keep the terms of a training forward and return ``output``, tied to them if asked.

        Args:
            terms: the weighted IB terms of this forward.
            output: what the model returns (logits, or z).
            in_backward: add the terms' gradients to backward through ``output``.
            grad_scale: the gradient the injected total receives; None means 1 with the
                gradient-accumulation check on.
            grad_probe: returns a trainable parameter every IB total reaches (None: none),
                whose ``.grad`` shows an earlier backward's leftovers.

        Raises:
            RuntimeError: if the injected terms of an earlier forward were dropped, or
                injection meets fp16.
        """
        grad = torch.is_grad_enabled()
        if grad:
            self._check_last_terms_used(in_backward)
        self.terms = terms
        self.state = "training forward"
        total = terms.total()
        trainable = grad and total.requires_grad
        self._read = not trainable  # terms that nothing can train need no reading
        if not (in_backward and trainable):
            return output
        _check_not_fp16(output)
        self._read = True
        scale = 1.0 if grad_scale is None else float(grad_scale)
        on_backward = None if grad_scale is not None else _AccumulationCheck(grad_probe)
        return add_to_backward(output, total, scale, on_backward, self._on_dropped)

    def take(self, in_backward: bool) -> IBLossTerms:
        """The terms, for the caller to add to its loss.

        Raises:
            RuntimeError: with ``in_backward`` (they are in the gradient already), or when there
                are no terms (no training forward since the last evaluation forward).
        """
        if in_backward:
            raise RuntimeError(
                "ib_loss(): this model has ib_loss_in_backward=True, so backward through its "
                "output already adds the IB terms; adding model.ib_loss().total() to the loss "
                "would count them twice. Log them with model.ib_log_values(), or build the "
                "model with ib_loss_in_backward=False to add ib_loss().total() yourself."
            )
        terms = self.peek()
        self._read = True
        return terms

    def peek(self) -> IBLossTerms:
        """The terms, for logging: reading them adds them to no loss.

        Raises:
            RuntimeError: when there are no terms (see :meth:`take`).
        """
        if self.terms is None:
            raise RuntimeError(
                "ib_loss(): no IB loss terms to return (reason: "
                f"{self.state}). They exist only after a forward pass in training mode "
                "(model.train()); an eval forward clears them."
            )
        return self.terms

    def _check_last_terms_used(self, in_backward: bool) -> None:
        """Refuse (injection) or warn once (no injection) when the last IB terms were dropped."""
        if in_backward:
            if self._dropped:
                self._dropped = False
                raise RuntimeError(
                    "AIBNet(ib_loss_in_backward=True): the IB terms of an earlier training "
                    "forward never reached backward: the loss did not use that forward's output "
                    "(the logits, or z), so backward never passed through it and the IB terms "
                    "were dropped. Compute the loss from the model output, run forwards that "
                    "train nothing under torch.no_grad(), or turn ib_loss_in_backward off and add "
                    "model.ib_loss().total() to the loss yourself."
                )
        elif not self._read and not self._unread_warned:
            self._unread_warned = True
            warnings.warn(
                "AIBNet: the IB terms (KL, anchor losses) of the last training forward were never "
                "read, so the loss trains without them. Add model.ib_loss().total() to the "
                "loss, or build the model with ib_loss_in_backward=True (timm's train.py: "
                "--model-kwargs ib_loss_in_backward=True) so backward through the logits adds "
                "them. (Warned once per model.)",
                UserWarning,
                stacklevel=4,
            )

    def _on_dropped(self) -> None:
        self._dropped = True


class _AccumulationCheck:
    """Run when backward reaches an injected output: refuse a gradient accumulation it would break.

    An unscaled injection (``ib_loss_grad_scale=None``) is right only for a backward into
    parameters that hold no gradient yet; a loop that accumulates divides its loss, not the
    injected terms.
    """

    def __init__(self, grad_probe: Callable[[], Optional[torch.Tensor]]) -> None:
        self.grad_probe = grad_probe

    def __call__(self) -> None:
        probe = self.grad_probe()
        if probe is not None and probe.grad is not None and bool(probe.grad.any()):
            raise RuntimeError(
                "AIBNet(ib_loss_in_backward=True): this backward adds to gradients an earlier "
                "backward left (gradient accumulation). The loop likely divides each loss by "
                "the number of accumulation steps (timm's --grad-accum-steps N divides by N), "
                "which the injected IB terms cannot see: pass ib_loss_grad_scale=1/N (e.g. "
                "--model-kwargs ib_loss_in_backward=True ib_loss_grad_scale=0.25 for N=4; an "
                "explicit scale is trusted), or call optimizer.zero_grad() before each backward."
            )
