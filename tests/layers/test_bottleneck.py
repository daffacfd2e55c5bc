import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from aib_plugin.layers import VariationalBottleneck, gaussian_kl_bits


def _reference_kl_bits(mu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    q = Independent(Normal(mu, scale), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    return kl_divergence(q, p).mean() / math.log(2.0)


@pytest.mark.parametrize("shape", [(1, 1), (4, 8), (3, 256)])
def test_vib_kl_matches_torch_distributions(shape):
    mu = torch.randn(shape)
    sigma = torch.rand(shape) * 2 + 0.05
    torch.testing.assert_close(gaussian_kl_bits(mu, sigma, "vib"), _reference_kl_bits(mu, sigma))


@pytest.mark.parametrize("shape", [(1, 1), (4, 8), (3, 256)])
def test_paper_kl_uses_exp_sigma_as_scale(shape):
    mu = torch.randn(shape)
    sigma = torch.rand(shape)
    expected = _reference_kl_bits(mu, torch.exp(sigma))
    torch.testing.assert_close(gaussian_kl_bits(mu, sigma, "paper"), expected)


def test_kl_modes_differ_and_vib_is_finite_when_sigma_underflows():
    mu = torch.zeros(2, 4)
    sigma = torch.zeros(2, 4)  # softplus(-huge) underflows to exactly 0
    assert gaussian_kl_bits(mu, sigma, "paper").item() == pytest.approx(0.0, abs=1e-6)
    vib = gaussian_kl_bits(mu, sigma, "vib")
    assert torch.isfinite(vib) and vib.item() > 100


def test_bottleneck_kl_is_in_bits_of_its_own_mu_sigma():
    layer = VariationalBottleneck(16, bottleneck_dim=8, kl="vib")
    out = layer(torch.randn(5, 16))
    torch.testing.assert_close(out.kl_bits, _reference_kl_bits(out.mu, out.sigma))
    assert out.z.shape == (5, 8) and out.mu.shape == (5, 8)
    # sigma is softplus(s - 5): with zero weights and bias it is softplus(-5)
    torch.nn.init.zeros_(layer.fc.weight)
    torch.nn.init.zeros_(layer.fc.bias)
    sigma = layer(torch.randn(2, 16)).sigma
    torch.testing.assert_close(sigma, torch.full((2, 8), math.log1p(math.exp(-5.0))))


def test_init_keeps_the_signal_scale_through_the_decoder_relu():
    # He init: relu(mu) keeps the input's second moment (PyTorch's default init: 1/6 of it)
    torch.manual_seed(0)
    layer = VariationalBottleneck(512, bottleneck_dim=256)
    x = torch.randn(256, 512)
    mu = layer(x).mu
    assert torch.equal(layer.fc.bias, torch.zeros_like(layer.fc.bias))
    assert 0.85 < torch.relu(mu).pow(2).mean().item() / x.pow(2).mean().item() < 1.15
    layer.fc.weight.data.zero_()
    layer.reset_parameters()
    assert layer.fc.weight.std().item() == pytest.approx(math.sqrt(2.0 / 512), rel=0.05)


def test_train_samples_eval_is_mean_and_mc_repeats():
    layer = VariationalBottleneck(6, bottleneck_dim=4, mc_samples=3)
    x = torch.randn(2, 6)
    layer.train()
    a, b = layer(x).z, layer(x).z
    assert not torch.equal(a, b)
    layer.eval()
    layer.mc_samples = 1
    out = layer(x)
    assert torch.equal(out.z, out.mu) and torch.equal(layer(x).z, out.z)
    layer.mc_samples = 3
    z = layer(x).z
    assert z.shape == (6, 4)
    assert not torch.equal(z[:2], z[2:4])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(in_features=0), "in_features"),
        (dict(in_features=4, bottleneck_dim=0), "bottleneck_dim"),
        (dict(in_features=4, kl="gaussian"), "kl"),
        (dict(in_features=4, mc_samples=0), "mc_samples"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VariationalBottleneck(**kwargs)


def test_wrong_input_shape_names_expected_shape():
    layer = VariationalBottleneck(8, bottleneck_dim=4)
    with pytest.raises(ValueError, match=r"\(B, 8\)"):
        layer(torch.randn(2, 7))
    with pytest.raises(ValueError, match=r"\(B, 8\)"):
        layer(torch.randn(2, 8, 1, 1))


def test_torchscript_and_fx_paths_agree_with_eager():
    layer = VariationalBottleneck(8, bottleneck_dim=4, kl="vib").eval()
    x = torch.randn(3, 8)
    eager = layer(x)
    for other in (torch.jit.script(layer), torch.fx.symbolic_trace(layer)):
        out = other(x)
        torch.testing.assert_close(out[0], eager.z)
        torch.testing.assert_close(out[3], eager.kl_bits)


def test_large_features_under_bf16_autocast_stay_finite():
    layer = VariationalBottleneck(32, bottleneck_dim=16, kl="vib").train()
    x = torch.randn(4, 32) * 1e4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert torch.isfinite(out.z).all() and torch.isfinite(out.kl_bits)
    out.kl_bits.backward()
    assert torch.isfinite(layer.fc.weight.grad).all()
