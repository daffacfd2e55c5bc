"""Training loops that know nothing of ``model.ib_loss()`` (timm's ``train.py``).

With ``ib_loss_in_backward=True`` a loop that backpropagates ``loss_fn(model(x), y)`` trains the
full objective (the same gradients as ``loss + model.ib_loss().total()``); without it the dropped
IB terms are warned about. The cases the injection would get wrong are refused.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.optim import create_optimizer_v2
from timm.task import ClassificationTask

from aib_plugin.timm_models import AIBClassificationTask, AIBNet, add_to_backward

from .conftest import images
from .test_contract import _fx_model

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def tiny(**kwargs: Any) -> AIBNet:
    """A narrow resnet18_aib_qt with learnable anchors: the anchors learn from the IB terms only."""
    return timm.create_model(
        "resnet18_aib_qt",
        num_classes=4,
        learn_anchors=True,
        channels=(16, 32, 64, 128),
        bottleneck_dim=32,
        **kwargs,
    ).train()


def twin(model: AIBNet, ib_loss_in_backward: bool = False) -> AIBNet:
    """A copy with the same weights and the injection switched as given."""
    other = copy.deepcopy(model)
    other.ib_loss_in_backward = ib_loss_in_backward
    return other


def loader(num_batches: int = 3) -> list[Batch]:
    generator = torch.Generator().manual_seed(0)
    return [
        (
            torch.randn(2, 3, 64, 64, generator=generator),
            torch.randint(0, 4, (2,), generator=generator),
        )
        for _ in range(num_batches)
    ]


def train_one_epoch(
    model: nn.Module,
    batches: list[Batch],
    loss_fn: LossFn,
    accum_steps: int = 1,
    amp_autocast: Callable[[], Any] = nullcontext,
    add_ib_loss: bool = False,
    seed: int = 1,
) -> nn.Module:
    """The shape of timm ``train.py``'s ``train_one_epoch``: ``loss_fn(output, target)`` (under
    autocast), divided by the accumulation steps, backward, a step every ``accum_steps``.
    ``add_ib_loss`` makes it the reference loop that adds ``model.ib_loss().total()`` by hand."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    torch.manual_seed(seed)  # the attention and z noise draws
    optimizer.zero_grad()
    for batch_idx, (input, target) in enumerate(batches):
        need_update = batch_idx == len(batches) - 1 or (batch_idx + 1) % accum_steps == 0
        with amp_autocast():
            output = model(input)
            loss = loss_fn(output, target)
            if add_ib_loss:
                loss = loss + model.ib_loss().total()
        if accum_steps > 1:
            loss /= accum_steps
        loss.backward()
        if need_update:
            optimizer.step()
            optimizer.zero_grad()
    return model


def anchors(model: AIBNet) -> torch.Tensor:
    return model.ib_attention.quantizer.anchors.detach().clone()


def assert_same_params(a: nn.Module, b: nn.Module) -> None:
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        torch.testing.assert_close(pa, pb, msg=lambda m, name=name: f"{name}: {m}")


def assert_same_grads(a: nn.Module, b: nn.Module) -> None:
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert (pa.grad is None) == (pb.grad is None), name
        if pa.grad is not None:
            torch.testing.assert_close(pa.grad, pb.grad, msg=lambda m, name=name: f"{name}: {m}")


def aib_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if "IB terms" in str(w.message)]


# --- timm's loop trains the IB terms with the option, and warns without it --------------------


def test_timm_shaped_loop_trains_the_ib_terms_with_the_option() -> None:
    injected = tiny(ib_loss_in_backward=True)
    reference, plain = twin(injected), twin(injected)
    start = anchors(injected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: nothing is dropped
        train_one_epoch(injected, loader(), F.cross_entropy)
    train_one_epoch(reference, loader(), F.cross_entropy, add_ib_loss=True)
    with pytest.warns(UserWarning, match="ib_loss_in_backward=True"):
        train_one_epoch(plain, loader(), F.cross_entropy)

    assert not torch.equal(anchors(injected), start)  # the codebook loss moved the anchors
    assert torch.equal(anchors(plain), start)  # cross-entropy alone never does
    assert_same_params(injected, reference)
    moved = (injected.bottleneck.fc.weight - plain.bottleneck.fc.weight).abs().max()
    assert moved > 1e-6  # the KL acted on the bottleneck


def test_warns_once_naming_both_fixes_and_not_when_the_terms_are_read() -> None:
    model = tiny()
    (x, y), *_ = loader(1)
    F.cross_entropy(model(x), y).backward()
    with pytest.warns(UserWarning) as record:
        F.cross_entropy(model(x), y).backward()
    (message,) = aib_warnings(record)
    assert "model.ib_loss().total()" in message and "ib_loss_in_backward=True" in message
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        F.cross_entropy(model(x), y).backward()
    assert aib_warnings(record) == []  # once per model

    reader = tiny()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        train_one_epoch(reader, loader(), F.cross_entropy, add_ib_loss=True)
        with torch.no_grad():
            reader(x), reader(x)  # no-grad training forwards train nothing: no warning
        reader.eval()(x)
    assert aib_warnings(record) == []


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gradients_equal_loss_plus_ib_total(precision: str) -> None:
    injected = tiny(ib_loss_in_backward=True)
    reference, plain = twin(injected), twin(injected)
    (x, y), *_ = loader(1)

    def autocast() -> Any:
        return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()

    grads = []
    for model, add in ((injected, False), (reference, True), (plain, False)):
        torch.manual_seed(1)
        with autocast():
            out = model(x)
            loss = F.cross_entropy(out, y)
            if add:
                loss = loss + model.ib_loss().total()
        assert out.dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)
        loss.backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    with_option, by_hand, without = grads
    assert with_option.keys() == by_hand.keys()
    for name in with_option:
        torch.testing.assert_close(with_option[name], by_hand[name], msg=name)
    assert without["backbone.layer4.ib_attention.attn.quantizer.anchors"] is None
    assert not torch.allclose(with_option["bottleneck.fc.weight"], without["bottleneck.fc.weight"])


def test_two_forwards_before_one_backward_train_both_terms() -> None:
    injected = tiny(ib_loss_in_backward=True)
    reference = twin(injected)
    (x1, y1), (x2, y2), (x3, y3) = loader(3)
    torch.manual_seed(1)
    loss = F.cross_entropy(injected(x1), y1) + F.cross_entropy(injected(x2), y2)
    loss.backward()
    torch.manual_seed(1)
    first = F.cross_entropy(reference(x1), y1) + reference.ib_loss().total()
    second = F.cross_entropy(reference(x2), y2) + reference.ib_loss().total()
    (first + second).backward()
    assert_same_grads(injected, reference)
    injected.zero_grad()
    F.cross_entropy(injected(x3), y3).backward()  # nothing was dropped: no error


def test_add_to_backward_gives_the_auxiliary_loss_the_scaled_gradient() -> None:
    w = torch.randn(3, requires_grad=True)
    output = w * 2
    aux = w.pow(2).sum()
    out = add_to_backward(output, aux, grad_scale=0.5)
    assert torch.equal(out, output) and out is not output
    out.sum().backward()
    torch.testing.assert_close(w.grad, 2 + 0.5 * 2 * w.detach())
    with pytest.raises(ValueError, match="aux must be a scalar"):
        add_to_backward(output, w)


# --- what the injection refuses ---------------------------------------------------------------


def test_refuses_fp16_autocast_and_fp16_outputs() -> None:
    model = tiny(ib_loss_in_backward=True)
    x = images()
    with pytest.raises(RuntimeError, match=r"refuses fp16 autocast on cpu.*--amp-dtype bfloat16"):
        with torch.autocast("cpu", dtype=torch.float16):
            model(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)  # bf16 needs no scaler: fine
    out.float().mean().backward()
    with pytest.raises(RuntimeError, match=r"refuses fp16 outputs.*model\.ib_loss\(\)\.total\(\)"):
        model.half()(x.half())
    with torch.no_grad():
        model(x.half())  # nothing to train without grad: not refused


def test_refuses_gradient_accumulation_without_a_scale() -> None:
    model = tiny(ib_loss_in_backward=True)
    with pytest.raises(RuntimeError, match=r"--grad-accum-steps N.*ib_loss_grad_scale=1/N"):
        train_one_epoch(model, loader(2), F.cross_entropy, accum_steps=2)


def test_an_explicit_scale_trains_accumulated_gradients_like_the_reference() -> None:
    injected = tiny(ib_loss_in_backward=True, ib_loss_grad_scale=0.5)
    reference = twin(injected)
    train_one_epoch(injected, loader(4), F.cross_entropy, accum_steps=2)
    train_one_epoch(reference, loader(4), F.cross_entropy, accum_steps=2, add_ib_loss=True)
    assert_same_params(injected, reference)


def test_refuses_a_loss_that_does_not_use_the_output() -> None:
    model = tiny(ib_loss_in_backward=True)
    features: list[torch.Tensor] = []
    model.backbone.layer3.register_forward_hook(lambda _m, _a, out: features.append(out))

    def feature_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return features[-1].float().pow(2).mean() + 0 * output.detach().sum()

    with pytest.raises(RuntimeError, match="the loss did not use that forward's output"):
        train_one_epoch(model, loader(3), feature_loss)


def test_ib_loss_is_refused_with_the_option_and_logging_still_works() -> None:
    model = tiny(ib_loss_in_backward=True)
    (x, y), *_ = loader(1)
    F.cross_entropy(model(x), y).backward()
    with pytest.raises(RuntimeError, match=r"count them twice.*ib_log_values\(\)"):
        model.ib_loss()
    values = model.ib_log_values()
    assert set(values) == {"kl_bits", "vq", "commit"} and values["kl_bits"] > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(ib_loss_in_backward="yes"), TypeError, "ib_loss_in_backward must be True or False"),
        (dict(ib_loss_grad_scale="1/4"), ValueError, "written as a decimal, e.g. 0.25"),
        (dict(ib_loss_grad_scale=0.0), ValueError, "must be a positive number"),
    ],
)
def test_refuses_bad_options(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        tiny(**kwargs)


# --- where the injection stays out ------------------------------------------------------------


def _is_injected(out: torch.Tensor) -> bool:
    return out.grad_fn is not None and "AddToBackward" in type(out.grad_fn).__name__


def test_eval_no_grad_and_traced_forwards_are_not_injected_and_scripted_training_refused() -> None:
    model = tiny(ib_loss_in_backward=True)
    x = images()
    out = model(x)
    assert _is_injected(out)
    out.mean().backward()
    assert not _is_injected(model.eval()(x))
    with torch.no_grad():
        assert model.train()(x).grad_fn is None
    model.requires_grad_(False)  # a frozen model in train mode (BN recalibration): no backward
    assert model(x).grad_fn is None
    model(x)  # and no refusal of a "dropped" output
    with timm.set_scriptable(True):
        scripted = torch.jit.script(tiny(ib_loss_in_backward=True))
    assert scripted.eval()(x).shape == (2, 4)
    with pytest.raises(torch.jit.Error, match="TorchScript module cannot add the IB terms"):
        scripted.train()(x)  # it would drop them silently
    traced = _fx_model(tiny(ib_loss_in_backward=True), train=True)
    out = torch.cat(tuple(traced(x).values()))
    assert not _is_injected(out)
    out.mean().backward()


# --- the timm task ----------------------------------------------------------------------------


def test_aib_task_adds_and_reports_the_ib_terms_through_timm_task() -> None:
    model = tiny()
    reference = twin(model)
    task = AIBClassificationTask(model, criterion=nn.CrossEntropyLoss(), verbose=False)
    assert isinstance(task, ClassificationTask)
    trainable = task.get_trainable_module()
    optimizer = create_optimizer_v2(trainable, "sgd", lr=0.1, weight_decay=0.0)
    start = anchors(model)
    (x, y), *_ = loader(1)

    torch.manual_seed(1)
    result = task(x, y)
    assert {"loss", "output", "task_loss", "ib_loss", "ib_kl_bits", "ib_vq", "ib_commit"} <= set(
        result
    )
    torch.testing.assert_close(result["loss"], result["task_loss"] + result["ib_loss"])
    assert result["ib_kl_bits"] == model.ib_log_values()["kl_bits"]
    result["loss"].backward()
    optimizer.step()
    assert not torch.equal(anchors(model), start)

    torch.manual_seed(1)
    out = reference(x)
    (F.cross_entropy(out, y) + reference.ib_loss().total()).backward()
    assert_same_grads(model, reference)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the task read the terms: no warning at the next step
        task(x, y)["loss"].backward()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: timm.create_model("resnet18", num_classes=4), TypeError, "needs an AIB model"),
        (lambda: tiny(ib_loss_in_backward=True), ValueError, "would count twice"),
    ],
)
def test_aib_task_refuses_models_it_would_train_wrong(
    make: Callable[[], nn.Module], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        AIBClassificationTask(make(), verbose=False)


def test_torch_compile_keeps_the_injection() -> None:
    """timm's ``--torchcompile``: the injection runs eagerly between the compiled graphs."""
    injected = tiny(ib_loss_in_backward=True)
    reference = twin(injected)
    compiled = torch.compile(injected, backend="aot_eager")
    train_one_epoch(compiled, loader(2), F.cross_entropy)
    train_one_epoch(reference, loader(2), F.cross_entropy, add_ib_loss=True)
    assert_same_params(injected, reference)
