"""Precision: bf16 autocast training on CPU stays finite; the KL never overflows to inf/NaN."""

from __future__ import annotations

import math

import pytest
import timm
import torch
import torch.nn.functional as F

import aib_plugin  # noqa: F401  (registers the *_aib models)
from aib_plugin.layers import VariationalBottleneck, gaussian_kl_bits, ib_param_groups
from aib_plugin.layers.bottleneck import PAPER_KL_MAX_LOG_SCALE


@pytest.mark.slow
@pytest.mark.parametrize("kl", ["paper", "vib"])
def test_ten_bf16_autocast_steps_stay_finite(kl: str) -> None:
    model = timm.create_model(
        "resnet18_aib_qt", num_classes=10, kl=kl, bottleneck_dim=32, channels=(16, 32, 64, 128)
    )  # a narrow ResNet-18: the CPU bf16 kernels are slow
    model.train()
    optimizer = torch.optim.SGD(ib_param_groups(model, lr=0.05), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    for step in range(10):
        x = torch.randn(4, 3, 32, 32, generator=generator) * (1 + 10 * (step % 2))  # some large
        y = torch.randint(0, 10, (4,), generator=generator)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x)
            terms = model.ib_loss()
            loss = F.cross_entropy(logits.float(), y) + terms.total()
        assert logits.dtype == torch.bfloat16  # autocast really ran
        assert terms.kl_bits.dtype == torch.float32  # the KL is computed in float32
        for name, value in {"loss": loss, **terms.losses()}.items():
            assert torch.isfinite(value), (step, name)
        optimizer.zero_grad()
        loss.backward()
        for name, param in model.named_parameters():
            assert param.grad is not None and torch.isfinite(param.grad).all(), (step, name)
        optimizer.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4])
@pytest.mark.parametrize("kl", ["paper", "vib"])
def test_kl_and_its_gradient_stay_finite_for_large_features(kl: str, scale: float) -> None:
    """Regression: the 'paper' KL's exp(2 sigma) overflowed to inf (NaN gradients) once the
    pooled features reached ~100 (sigma = softplus(s - 5) > 44)."""
    layer = VariationalBottleneck(32, bottleneck_dim=16, kl=kl).train()
    x = (torch.randn(4, 32) * scale).requires_grad_()
    out = layer(x)
    assert out.sigma.max() > 44 or kl == "vib" or scale < 1e3
    assert torch.isfinite(out.kl_bits) and out.kl_bits > 0
    out.kl_bits.backward()
    assert torch.isfinite(layer.fc.weight.grad).all() and torch.isfinite(x.grad).all()


def test_paper_kl_is_exact_below_the_cap_and_grows_above() -> None:
    mu = torch.zeros(1, 1)
    for s in (0.0, 5.0, 19.5):
        sigma = torch.full((1, 1), s)
        exact = (0.5 * (math.exp(2 * s) - 1) - s) / math.log(2)
        assert gaussian_kl_bits(mu, sigma, "paper").item() == pytest.approx(exact, rel=1e-5)
    sigmas = torch.tensor([[PAPER_KL_MAX_LOG_SCALE, 30.0, 100.0, 1e6]]).T.requires_grad_()
    values = torch.stack([gaussian_kl_bits(mu, s[None], "paper") for s in sigmas])
    assert torch.isfinite(values).all() and (values.diff() > 0).all()
    values.sum().backward()
    assert torch.isfinite(sigmas.grad).all() and (sigmas.grad > 0).all()  # pushes sigma down


@pytest.mark.parametrize("kl", ["paper", "vib"])
def test_kl_is_finite_when_sigma_underflows_to_zero(kl: str) -> None:
    mu = torch.randn(3, 8, requires_grad=True)
    sigma = torch.nn.functional.softplus(torch.full((3, 8), -1e4) - 5).requires_grad_()
    assert (sigma == 0).all()
    value = gaussian_kl_bits(mu, sigma, kl)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(mu.grad).all()
    assert torch.isfinite(sigma.grad).all()
