"""The variational information bottleneck: features -> Gaussian q(z|x) -> z, and its KL."""

import math
from typing import NamedTuple, Optional

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from ._validate import check_choice, check_positive_int
from .ib_attention import STD_OFFSET

#: KL modes: 'vib' is the textbook KL(N(mu, sigma) || N(0, I)); 'paper' is the authors' code,
#: KL(N(mu, exp(sigma)) || N(0, I)), in effect an L2 penalty on mu (docs/paper_fidelity.md).
KL_MODES = ("paper", "vib")

#: Above this log-scale the 'paper' KL's variance exp(2 sigma) is extended linearly (finite).
PAPER_KL_MAX_LOG_SCALE = 20.0


class BottleneckOutput(NamedTuple):
    """What :class:`VariationalBottleneck` returns.

    Attributes:
        z: the code, shape (S * B, K): a sample in training (or with mc_samples > 1), else ``mu``.
        mu: mean of q(z|x), shape (B, K).
        sigma: std of q(z|x), ``softplus(s - 5)``, shape (B, K).
        kl_bits: KL(q(z|x) || N(0, I)) in bits, summed over K and averaged over the batch.
    """

    z: torch.Tensor
    mu: torch.Tensor
    sigma: torch.Tensor
    kl_bits: torch.Tensor


def gaussian_kl_bits(mu: torch.Tensor, sigma: torch.Tensor, kl: str = "paper") -> torch.Tensor:
    """KL of a diagonal Gaussian to N(0, I) in bits, summed over the last dim, batch-averaged.

    Args:
        mu: means, shape (B, K).
        sigma: standard deviations (the ``softplus(s - 5)`` output), shape (B, K).
        kl: ``'vib'`` uses scale ``sigma`` (textbook); ``'paper'`` uses scale ``exp(sigma)`` as the
            authors' code does.

    Returns:
        A scalar tensor (float32 or wider).
    """
    check_choice("kl", kl, KL_MODES)
    return _kl_bits(mu, sigma, kl == "paper")


def _kl_bits(mu: torch.Tensor, sigma: torch.Tensor, paper: bool) -> torch.Tensor:
    mu = mu.float()
    sigma = sigma.float()
    if paper:
        log_scale = sigma
        # exp(2 sigma) overflows float32 for sigma > 44 (large features): above the cap the
        # variance grows linearly (value and slope continuous), so the KL stays finite and its
        # gradient keeps pushing sigma down; exact for sigma <= the cap (KL >= 1e17 bits there)
        capped = sigma.clamp(max=20.0)  # PAPER_KL_MAX_LOG_SCALE (a literal for TorchScript)
        variance = torch.exp(2.0 * capped) * (1.0 + 2.0 * (sigma - capped))
    else:
        # clamp keeps log finite when softplus underflows to 0 (features very negative)
        safe_sigma = sigma.clamp_min(1e-30)
        log_scale = torch.log(safe_sigma)
        variance = safe_sigma * safe_sigma
    kl_nats = 0.5 * (mu * mu + variance - 1.0) - log_scale
    return kl_nats.sum(dim=-1).mean() / math.log(2.0)


class VariationalBottleneck(nn.Module):
    """``Linear(C, 2K)`` to the mean and std of q(z|x); samples z in training.

    Args:
        in_features: C, the pooled feature size.
        bottleneck_dim: K, the size of z (the paper uses 256; 512 for its CIFAR WRN).
        kl: ``'paper'`` or ``'vib'``; see :func:`gaussian_kl_bits`.
        mc_samples: z samples drawn in evaluation; 1 means the deterministic mean.
        device: device of the parameters.
        dtype: dtype of the parameters.
    """

    def __init__(
        self,
        in_features: int,
        bottleneck_dim: int = 256,
        kl: str = "paper",
        mc_samples: int = 1,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_positive_int("in_features", in_features)
        check_positive_int("bottleneck_dim", bottleneck_dim)
        check_positive_int("mc_samples", mc_samples)
        self.kl = check_choice("kl", kl, KL_MODES)
        self.in_features = in_features
        self.bottleneck_dim = bottleneck_dim
        self.mc_samples = mc_samples
        self.std_offset = STD_OFFSET
        self.fc = nn.Linear(in_features, 2 * bottleneck_dim, device=device, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-initialise ``fc`` (normal, fan-in, ReLU gain; zero bias).

        z feeds the decoder's ReLU, so this keeps the signal's scale through encoder and decoder.
        PyTorch's default ``Linear`` init divides the variance by 3 (by 6 after the ReLU), which
        slows learning (projects/aib_studies/experiments/bottleneck_init.md).
        """
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> BottleneckOutput:
        """Encode pooled features ``x`` of shape (B, in_features)."""
        _check_pooled(x, self.in_features)
        stats = self.fc(x)
        mu = stats[:, : self.bottleneck_dim]
        sigma = F.softplus(stats[:, self.bottleneck_dim :] - self.std_offset)
        num_samples = 1 if self.training else self.mc_samples
        if self.training or num_samples > 1:
            mu_rep = mu.repeat(num_samples, 1)
            z = mu_rep + torch.randn_like(mu_rep) * sigma.repeat(num_samples, 1)
        else:
            z = mu
        return BottleneckOutput(z, mu, sigma, _kl_bits(mu, sigma, self.kl == "paper"))

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, bottleneck_dim={self.bottleneck_dim}, "
            f"kl={self.kl!r}, mc_samples={self.mc_samples}"
        )


@torch.jit.ignore
def _check_pooled(x: torch.Tensor, in_features: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"VariationalBottleneck expects a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[1] != in_features:
        raise ValueError(
            f"VariationalBottleneck expects pooled features of shape (B, {in_features}), "
            f"got shape {tuple(x.shape)}"
        )


torch.fx.wrap("_check_pooled")
