"""The IB loss terms, weighted once here so adapters only add them to a loss.

Full objective in bits (the paper's step 8; docs/paper_fidelity.md)::

    CE / ln 2  +  beta * KL(q(z|x) || N(0, I)) / ln 2  +  lambda_g * L_vq  +  lambda_c * L_commit
               [ +  lambda_a * mean(mu_a) ]              area_mode='mean'
               [ +  lambda_a * (mean(mu_a) + 1 - mean_b(max_hw(mu_a))) ]   area_mode='peak'
               [ +  lambda_a * mean_b(mean_hw(mu_a) / max_hw(mu_a)) ]      area_mode='relative'

The last term is an option of this package, not of the paper (``area_weight``, default 0): the
attended area, a price on attending. Under the residual modulation ``X * (1 + a)`` nothing else
sets the attention where the features are empty (background), so without it the map keeps an
arbitrary level there; with it the map falls to zero wherever classification does not need it.
``area_mode='peak'`` also pays for each map's peak being below 1, so a map cannot fall to zero
everywhere (on images the classifier gets right without attention, the plain area term lets it).
``area_mode='relative'`` prices each map's area against its own peak: it does not depend on the
map's level, so it cannot fade a map (it sharpens it: the rest falls, the peak rises), and it
pulls hardest on maps whose peak is low. projects/aib_studies/experiments/relative_area_price.md
measures the three.
"""

import math
from dataclasses import dataclass, replace
from typing import Optional

import torch
import torch.nn.functional as F

from ._validate import check_choice, check_non_negative
from .bottleneck import BottleneckOutput
from .ib_attention import AttentionOutput

#: ``1 / ln 2``: a loss in nats times this is the loss in bits (the unit of every IB term); the
#: ``loss_weight`` of a cross-entropy loss config in bits.
BITS_PER_NAT = 1.0 / math.log(2.0)

#: The paper's weights.
DEFAULT_BETA = 0.01
DEFAULT_CODEBOOK_WEIGHT = 0.4
DEFAULT_COMMITMENT_WEIGHT = 0.1
#: No area term by default: the paper has none.
DEFAULT_AREA_WEIGHT = 0.0
#: The area term's forms: the attended area, the area plus the peak's distance from 1, or the
#: area over the peak.
AREA_MODES = ("mean", "peak", "relative")
#: Floor of a map's peak in ``area_mode='relative'``.
RELATIVE_AREA_EPS = 1e-6
#: What scales the area price: nothing, or the classifier's confidence on the batch.
AREA_GATES = ("none", "confidence")


def classifier_confidence(logits: torch.Tensor) -> torch.Tensor:
    """How far the classifier is from guessing, from its own logits: a detached scalar in [0, 1].

    ``(mean_b max_k softmax(logits) - 1 / K) / (1 - 1 / K)``: 0 at a uniform prediction (a
    classifier at chance), 1 when every image gets one class with certainty. No labels needed.

    Args:
        logits: (B, K) with K >= 2 classes.

    Raises:
        ValueError: for logits that are not (B, K) with K >= 2.
    """
    if logits.dim() != 2 or logits.shape[1] < 2:
        raise ValueError(
            "classifier_confidence: logits must be (batch, classes >= 2), got "
            f"{tuple(logits.shape)}"
        )
    num_classes = logits.shape[1]
    peak = torch.softmax(logits.detach().float(), dim=1).amax(dim=1).mean()
    return ((peak - 1.0 / num_classes) / (1.0 - 1.0 / num_classes)).clamp(0.0, 1.0)


@dataclass(frozen=True)
class IBLossTerms:
    """The IB terms of one forward pass.

    Attributes:
        kl: ``beta * KL`` in bits (weighted).
        codebook: ``lambda_g * L_vq`` (weighted), or None without anchors.
        commitment: ``lambda_c * L_commit`` (weighted), or None without anchors.
        kl_bits: the unweighted KL in bits, for logging.
        codebook_raw: the unweighted codebook loss, or None.
        commitment_raw: the unweighted commitment loss, or None.
        area: ``lambda_a * area_raw`` (weighted), or None when ``area_weight`` is 0.
        area_raw: the attended area ``mean(mu_a)`` (``area_mode='peak'``: plus
            ``1 - mean_b(max_hw(mu_a))``; ``'relative'``: ``mean_b(mean_hw(mu_a) /
            max_hw(mu_a))``), or None.
        area_gate: the factor ``area`` was scaled by (``area_gate='confidence'``), or None.
    """

    kl: torch.Tensor
    codebook: Optional[torch.Tensor]
    commitment: Optional[torch.Tensor]
    kl_bits: torch.Tensor
    codebook_raw: Optional[torch.Tensor] = None
    commitment_raw: Optional[torch.Tensor] = None
    area: Optional[torch.Tensor] = None
    area_raw: Optional[torch.Tensor] = None
    area_gate: Optional[torch.Tensor] = None

    def total(self) -> torch.Tensor:
        """Sum of the weighted terms: add this to the classification loss."""
        total = self.kl
        if self.codebook is not None:
            total = total + self.codebook
        if self.commitment is not None:
            total = total + self.commitment
        if self.area is not None:
            total = total + self.area
        return total

    def losses(self, prefix: str = "loss_") -> dict[str, torch.Tensor]:
        """The weighted terms as ``loss_kl`` (and ``loss_vq``, ``loss_commit``, ``loss_area`` when
        present), for a loss dict."""
        named = {
            "kl": self.kl,
            "vq": self.codebook,
            "commit": self.commitment,
            "area": self.area,
        }
        return {prefix + name: value for name, value in named.items() if value is not None}

    def unweighted(self) -> dict[str, torch.Tensor]:
        """The unweighted terms, detached: ``kl_bits``, ``vq``, ``commit``, ``area`` (when
        present)."""
        named = {
            "kl_bits": self.kl_bits,
            "vq": self.codebook_raw,
            "commit": self.commitment_raw,
            "area": self.area_raw,
            "area_gate": self.area_gate,
        }
        return {name: value.detach() for name, value in named.items() if value is not None}

    def log_values(self) -> dict[str, float]:
        """The unweighted terms as floats (see :meth:`unweighted`), for logging."""
        return {name: float(value) for name, value in self.unweighted().items()}


class IBObjective:
    """Holds the validated IB weights and turns layer outputs into :class:`IBLossTerms`.

    Args:
        beta: weight of the KL term (paper: 0.01).
        codebook_weight: lambda_g, weight of the codebook loss (paper: 0.4).
        commitment_weight: lambda_c, weight of the commitment loss (paper: 0.1).
        area_weight: lambda_a, weight of the attended area ``mean(mu_a)`` (not in the paper;
            0 leaves the term out).
        area_mode: ``'mean'`` (the area), ``'peak'`` (the area plus ``1 - max(mu_a)`` per map,
            averaged over the batch: a sparse map that keeps a peak) or ``'relative'`` (each
            map's area over its peak, averaged over the batch: a sparse map at any level).
        area_free: the free area, in the units of ``area_mode`` (a fraction of the map): each
            map's area is priced only above it, ``max(0, area - area_free)`` (not in the paper;
            as the "free bits" of a VAE's KL). 0 prices all of it; above 0 the price stops
            shrinking a map that covers no more than that share, so the classification loss
            alone decides its extent there. The ``'peak'`` mode's ``1 - max(mu_a)`` is not
            affected.
        area_gate: ``'none'`` or ``'confidence'``: scale the area price by the classifier's
            confidence on the batch (:func:`classifier_confidence`; not in the paper), so that
            it acts only as far as the classifier has learned to tell the classes apart. The
            adapters apply it with :meth:`gate` once the pass's logits exist.
    """

    def __init__(
        self,
        beta: float = DEFAULT_BETA,
        codebook_weight: float = DEFAULT_CODEBOOK_WEIGHT,
        commitment_weight: float = DEFAULT_COMMITMENT_WEIGHT,
        area_weight: float = DEFAULT_AREA_WEIGHT,
        area_mode: str = "mean",
        area_free: float = 0.0,
        area_gate: str = "none",
    ) -> None:
        self.beta = check_non_negative("beta", beta)
        self.codebook_weight = check_non_negative("codebook_weight", codebook_weight)
        self.commitment_weight = check_non_negative("commitment_weight", commitment_weight)
        self.area_weight = check_non_negative("area_weight", area_weight)
        self.area_mode = check_choice("area_mode", area_mode, AREA_MODES)
        self.area_free = check_non_negative("area_free", area_free)
        if self.area_free >= 1.0:
            raise ValueError(
                f"area_free must be below 1 (a fraction of the map; 1 would price nothing), "
                f"got {area_free}"
            )
        self.area_gate = check_choice("area_gate", area_gate, AREA_GATES)

    def __call__(
        self, bottleneck: BottleneckOutput, attention: Optional[AttentionOutput] = None
    ) -> IBLossTerms:
        """Weight the KL of ``bottleneck`` and the anchor and area terms of ``attention`` (if
        any)."""
        if not isinstance(bottleneck, BottleneckOutput):
            raise TypeError(
                "IBObjective: bottleneck must be the BottleneckOutput of a VariationalBottleneck, "
                f"got {type(bottleneck).__name__}"
            )
        if attention is not None and not isinstance(attention, AttentionOutput):
            raise TypeError(
                "IBObjective: attention must be the AttentionOutput of an IBSpatialAttention or "
                f"None, got {type(attention).__name__}"
            )
        codebook_raw = None if attention is None else attention.codebook_loss
        commitment_raw = None if attention is None else attention.commitment_loss
        area_raw = None
        if attention is not None and self.area_weight > 0:
            attention_mean = attention.attention_mean.float()
            area = attention_mean.mean(dim=(1, 2, 3))  # one value per map
            if self.area_mode == "relative":
                area = area / attention_mean.amax(dim=(1, 2, 3)).clamp_min(RELATIVE_AREA_EPS)
            area_raw = (area - self.area_free).clamp_min(0.0).mean()
            if self.area_mode == "peak":
                area_raw = area_raw + 1.0 - attention_mean.amax(dim=(1, 2, 3)).mean()
        return IBLossTerms(
            kl=self.beta * bottleneck.kl_bits,
            codebook=None if codebook_raw is None else self.codebook_weight * codebook_raw,
            commitment=None if commitment_raw is None else self.commitment_weight * commitment_raw,
            kl_bits=bottleneck.kl_bits,
            codebook_raw=codebook_raw,
            commitment_raw=commitment_raw,
            area=None if area_raw is None else self.area_weight * area_raw,
            area_raw=area_raw,
        )

    @property
    def needs_logits(self) -> bool:
        """Whether :meth:`gate` needs the pass's logits (a gated area price)."""
        return self.area_gate != "none" and self.area_weight > 0

    def gate(self, terms: IBLossTerms, logits: Optional[torch.Tensor]) -> IBLossTerms:
        """``terms`` with the area price scaled by :attr:`area_gate` (unchanged for ``'none'``).

        Args:
            terms: what :meth:`__call__` returned for the pass.
            logits: the pass's (B, K) logits.

        Raises:
            ValueError: if the gate needs logits and ``logits`` is None.
        """
        if not self.needs_logits or terms.area is None:
            return terms
        if logits is None:
            raise ValueError(
                f"IBObjective(area_gate={self.area_gate!r}) scales the area price by the "
                "classifier's confidence, so it needs the pass's logits; a model without a "
                "classifier (num_classes=0, pre_logits) has none: use area_gate='none'"
            )
        factor = classifier_confidence(logits)
        return replace(terms, area=terms.area * factor, area_gate=factor)

    def __repr__(self) -> str:
        return (
            f"IBObjective(beta={self.beta}, codebook_weight={self.codebook_weight}, "
            f"commitment_weight={self.commitment_weight}, area_weight={self.area_weight}, "
            f"area_mode={self.area_mode!r}, area_free={self.area_free}, "
            f"area_gate={self.area_gate!r})"
        )


def cross_entropy_bits(logits: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
    """Cross-entropy in bits: ``F.cross_entropy(logits, target, **kwargs) / ln 2``."""
    return F.cross_entropy(logits.float(), target, **kwargs) / math.log(2.0)
