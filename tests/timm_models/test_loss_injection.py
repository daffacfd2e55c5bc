"""``IBLossTracker``: the IB terms of the last training forward, and how a loss takes them."""

from __future__ import annotations

import gc
import warnings

import pytest
import torch

from aib_plugin.layers import IBLossTerms
from aib_plugin.timm_models.loss_injection import IBLossTracker, check_injection_options


def _terms(weight: torch.Tensor) -> IBLossTerms:
    kl = (weight**2).sum()
    return IBLossTerms(kl=kl, codebook=None, commitment=None, kl_bits=kl.detach())


def _record(tracker: IBLossTracker, weight: torch.Tensor, in_backward: bool, **kw) -> torch.Tensor:
    output = weight * torch.ones(3)
    probe = kw.pop("grad_probe", lambda: weight)
    return tracker.record(_terms(weight), output, in_backward, kw.pop("grad_scale", None), probe)


def test_without_injection_the_terms_wait_to_be_taken_and_a_dropped_forward_warns_once() -> None:
    tracker, weight = IBLossTracker(), torch.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"no IB loss terms to return \(reason: no forward yet"):
        tracker.peek()
    out = _record(tracker, weight, in_backward=False)
    assert out.grad_fn is not None and tracker.take(False).total().item() == 4.0
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _record(tracker, weight, in_backward=False)  # the previous terms were taken: no warning
        _record(tracker, weight, in_backward=False)  # these were not
        _record(tracker, weight, in_backward=False)
    assert [str(w.message)[:40] for w in record] == ["AIBNet: the IB terms (KL, anchor losses)"]
    tracker.clear()
    with pytest.raises(RuntimeError, match="the last forward was in eval mode"):
        tracker.peek()


def test_injection_adds_the_terms_gradient_and_refuses_taking_them_twice() -> None:
    tracker, weight = IBLossTracker(), torch.tensor(2.0, requires_grad=True)
    out = _record(tracker, weight, in_backward=True, grad_scale=0.5)
    out.sum().backward()  # d(3 w)/dw + 0.5 * d(w^2)/dw = 3 + 2
    assert weight.grad.item() == 5.0
    with pytest.raises(RuntimeError, match="would count them twice"):
        tracker.take(True)
    assert tracker.peek().log_values() == {"kl_bits": 4.0}


def test_injected_terms_a_loss_never_used_are_refused_at_the_next_forward() -> None:
    tracker, weight = IBLossTracker(), torch.tensor(2.0, requires_grad=True)
    _record(tracker, weight, in_backward=True)  # output dropped: backward never reaches it
    gc.collect()
    with pytest.raises(RuntimeError, match="never reached backward"):
        _record(tracker, weight, in_backward=True)
    _record(tracker, weight, in_backward=True).sum().backward()  # reported once, then fine


def test_unscaled_injection_refuses_accumulated_gradients() -> None:
    tracker, weight = IBLossTracker(), torch.tensor(2.0, requires_grad=True)
    _record(tracker, weight, in_backward=True).sum().backward()
    with pytest.raises(RuntimeError, match="gradient accumulation"):
        _record(tracker, weight, in_backward=True).sum().backward()
    _record(tracker, weight, in_backward=True, grad_scale=0.5).sum().backward()  # trusted


def test_fp16_injection_is_refused_and_bad_options_named() -> None:
    tracker, weight = IBLossTracker(), torch.tensor(2.0, requires_grad=True)
    output = torch.ones(3, dtype=torch.float16) * weight.half()
    with pytest.raises(RuntimeError, match="refuses fp16 outputs"):
        tracker.record(_terms(weight), output, True, None, lambda: weight)
    with pytest.raises(TypeError, match="ib_loss_in_backward must be True or False, got 1"):
        check_injection_options(1, None)
    with pytest.raises(ValueError, match="or None, got -1"):
        check_injection_options(True, -1)
