"""Targets: does a model's score meet its bar against a reference model's, seed by seed?"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .tables import mean_std

#: how much more energy in the box the AIB attention must have than the plain model's Grad-CAM
ENERGY_FACTOR = 1.5


def at_least_factor(factor: float) -> Callable[[float, float], bool]:
    """``holds(ours, theirs)``: ``ours >= factor * theirs``."""

    def holds(ours: float, theirs: float) -> bool:
        return ours >= factor * theirs

    return holds


class Target(NamedTuple):
    """One target: ``holds(model's score, reference's score)`` for the result rows' ``score``."""

    score: str
    label: str
    holds: Callable[[float, float], bool]


def check(target: Target, pairs: Sequence[tuple[dict, dict]]) -> dict[str, Any]:
    """``target`` on pairs of result rows ``(model's, reference's)``, one pair per seed.

    Returns the target (``score``, ``target``: its label), the means over seeds (``value``,
    ``reference_value``), ``met``: the seeds where it holds, ``seeds``, ``met_on_means``, and the
    mean paired difference with its standard error over seeds (``difference_se``, ``None`` for
    one seed).
    """
    ours = [a[target.score] for a, _ in pairs]
    theirs = [p[target.score] for _, p in pairs]
    differences = np.subtract(ours, theirs)
    _, spread = mean_std(differences)
    return dict(
        score=target.score,
        target=target.label,
        value=float(np.mean(ours)),
        reference_value=float(np.mean(theirs)),
        met=sum(target.holds(a, p) for a, p in zip(ours, theirs, strict=True)),
        seeds=len(pairs),
        met_on_means=bool(target.holds(np.mean(ours), np.mean(theirs))),
        difference=float(differences.mean()),
        # the standard error of the paired difference (seed noise)
        difference_se=float(spread / np.sqrt(len(pairs))) if len(pairs) > 1 else None,
    )
