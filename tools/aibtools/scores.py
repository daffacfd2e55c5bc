"""The tools' one set of scores: result rows of a run's maps, means over seeds, target checks.

``demo.py`` and ``benchmark.py quality`` both turn a trained model's test maps
(:func:`aibtools.maps.collect_maps`) into rows with :func:`score_rows`, aggregate them with
:func:`aggregate` and judge them with :func:`target_checks`. A row is one (backbone, variant,
seed, map) at one setting (``reduction``: every departure from the configs' full setting); its
scores are percentages on the test split under the keys of :data:`SCORES`.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tables import mean_std
from .targets import ENERGY_FACTOR, Target, at_least_factor, check

#: the scores of every row: key, table label, whether lower is better
SCORES = (
    ("top1_err", "top-1 err %", True),
    ("pointing", "pointing %", False),
    ("energy", "energy in box %", False),
    ("max_box_acc_v2", "MaxBoxAccV2 %", False),
    ("box_acc", "box acc %", False),
)
#: the columns of a result row (CSV order)
ROW_COLUMNS = (
    "backbone", "variant", "seed", "map", "top1_err", "pointing", "energy", "max_box_acc_v2",
    "box_acc", "reduction", "train_images", "test_images", "epochs", "train_minutes",
    "eval_minutes", "params",
)  # fmt: skip
#: the variants with IB attention, judged against the plain model of their setting
AIB_VARIANTS = ("aib", "aib_qt")
#: the map each kind of model is judged by
ATTENTION, GRAD_CAM = "IB attention", "Grad-CAM"
#: a plain model above this top-1 error (%) has not learned the task: its seed is not judged
#: (the published CNN baseline on cluttered MNIST is 3.5%; chance is 90%)
MAX_PLAIN_ERROR = 10.0
#: the targets: an AIB variant's attention against the plain model's Grad-CAM, seed by seed
TARGETS = (
    Target("top1_err", "top-1 error <= plain's", operator.le),
    Target("pointing", "pointing >= plain Grad-CAM's", operator.ge),
    Target(
        "energy",
        f"energy in box >= {ENERGY_FACTOR}x plain Grad-CAM's",
        at_least_factor(ENERGY_FACTOR),
    ),
    Target("max_box_acc_v2", "MaxBoxAccV2 >= plain Grad-CAM's", operator.ge),
)


def map_sources(variant: str, every_map: bool) -> tuple[str, ...]:
    """The maps scored for ``variant``: the one it is judged by (an AIB variant's attention, a
    plain model's Grad-CAM), and with ``every_map`` an AIB variant's Grad-CAM too."""
    if variant not in AIB_VARIANTS:
        return (GRAD_CAM,)
    return (ATTENTION, GRAD_CAM) if every_map else (ATTENTION,)


def score_rows(
    maps: dict[str, list], run: dict[str, Any], sources: Sequence[str]
) -> list[dict[str, Any]]:
    """One result row per map of ``sources`` from :func:`aibtools.maps.collect_maps`'s output.

    Args:
        maps: the test split's ``images``, ``boxes``, ``labels``, ``preds``, ``cam`` and
            ``attention`` lists.
        run: the run's own columns (``backbone``, ``variant``, ``seed``, ``reduction``,
            ``train_images``, ``epochs``, ``train_minutes``, ``eval_minutes``, ``params``).
        sources: ``'IB attention'`` and / or ``'Grad-CAM'`` (:func:`map_sources`).

    Returns:
        Rows with the run's columns, ``map``, the :data:`SCORES` in percent (3 decimals) and
        ``test_images``.

    Raises:
        ValueError: for an unknown source, or a source the maps do not hold.
    """
    from aib_plugin.evaluation import score_maps

    keys = {ATTENTION: "attention", GRAD_CAM: "cam"}
    unknown = [s for s in sources if s not in keys]
    if unknown:
        raise ValueError(f"unknown map source(s) {unknown}: expected {ATTENTION!r} or {GRAD_CAM!r}")
    top1_err = round(100.0 * float(np.mean(np.not_equal(maps["labels"], maps["preds"]))), 3)
    rows = []
    for source in sources:
        saliency = maps[keys[source]]
        if not saliency:
            raise ValueError(f"no {source} maps to score for {run.get('variant')!r}")
        scores = score_maps(saliency, maps["boxes"], maps["images"][0].shape)
        row = {k: run[k] for k in ("backbone", "variant", "seed") if k in run}
        row.update(
            map=source,
            top1_err=top1_err,
            pointing=round(100.0 * scores.pointing_game, 3),
            energy=round(100.0 * scores.energy_in_box, 3),
            max_box_acc_v2=round(100.0 * scores.max_box_acc_v2, 3),
            box_acc=round(100.0 * scores.box_accuracy, 3),
        )
        row.update({k: v for k, v in run.items() if k not in row})
        row["test_images"] = scores.num_images
        rows.append({k: row[k] for k in ROW_COLUMNS if k in row})
    return rows


def setting(row: dict[str, Any]) -> tuple[str, str]:
    """``(backbone, reduction)``: the rows that are paired by seed have the same setting."""
    return row["backbone"], row["reduction"]


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (backbone, variant, reduction, map): mean, sample std and worst seed of every score.

    The worst seed is the highest top-1 error and the lowest of the other scores. Groups keep
    the order of first appearance.
    """
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["backbone"], r["variant"], r["reduction"], r["map"]), []).append(r)
    out = []
    for (backbone, variant, reduction, source), group in groups.items():
        agg: dict[str, Any] = dict(
            backbone=backbone,
            variant=variant,
            reduction=reduction,
            map=source,
            seeds=len(group),
            train_images=group[0]["train_images"],
            epochs=group[0]["epochs"],
        )
        for key, _, lower_is_better in SCORES:
            values = [float(g[key]) for g in group]
            agg[key], agg[key + "_std"] = mean_std(values)
            agg[key + "_worst"] = max(values) if lower_is_better else min(values)
        agg["train_minutes"] = float(np.mean([float(g["train_minutes"]) for g in group]))
        out.append(agg)
    return out


def target_checks(
    rows: Sequence[dict[str, Any]], max_plain_error: float = MAX_PLAIN_ERROR
) -> list[dict[str, Any]]:
    """:data:`TARGETS` of every AIB variant's attention against the plain model's Grad-CAM.

    Rows are paired by seed within one setting (:func:`setting`). A seed whose plain model's
    top-1 error is above ``max_plain_error`` (%) has not learned the task: its maps say little
    about the method, so that seed is not judged. Each check is :func:`aibtools.targets.check`'s
    dict over the judged seeds (``met``: the seeds where it holds, ``met_on_means``; over every
    seed when none is judged) plus ``backbone``, ``reduction``, ``model`` (the variant),
    ``reference`` (``'plain'``), ``plain_error`` (the plain model's mean top-1 error over every
    paired seed), ``not_learned`` (the seeds left out), ``verdict`` (``'PASS'``: the target holds
    at every judged seed; ``'FAIL'``; ``'not learned'``: no seed is judged) and ``passed``.

    Raises:
        ValueError: for a ``max_plain_error`` outside [0, 100].
    """
    if not 0 <= max_plain_error <= 100:
        raise ValueError(
            f"max_plain_error must be a top-1 error in [0, 100] %, got {max_plain_error}"
        )
    checks = []
    for where in dict.fromkeys(setting(r) for r in rows):
        mine = [r for r in rows if setting(r) == where]
        plain = {r["seed"]: r for r in mine if r["variant"] == "plain" and r["map"] == GRAD_CAM}
        for variant in AIB_VARIANTS:
            pairs = [
                (r, plain[r["seed"]])
                for r in mine
                if r["variant"] == variant and r["map"] == ATTENTION and r["seed"] in plain
            ]
            judged = [(r, p) for r, p in pairs if float(p["top1_err"]) <= max_plain_error]
            not_learned = [p["seed"] for _, p in pairs if float(p["top1_err"]) > max_plain_error]
            for target in TARGETS if pairs else ():
                result = check(target, judged or pairs)
                if not judged:
                    verdict = "not learned"
                else:
                    verdict = "PASS" if result["met"] == result["seeds"] else "FAIL"
                checks.append(
                    dict(
                        result,
                        backbone=where[0],
                        reduction=where[1],
                        model=variant,
                        reference="plain",
                        plain_error=float(np.mean([float(p["top1_err"]) for _, p in pairs])),
                        not_learned=not_learned,
                        verdict=verdict,
                        passed=verdict == "PASS",
                    )
                )
    return checks


def reduction_label(
    sizes: Sequence[tuple[Any, Any, str]],
    parts: Sequence[str] = (),
    options: Sequence[tuple[str, Any]] = (),
) -> str:
    """A row's ``reduction``: every departure from the configs' full setting, ``'; '``-joined.

    Args:
        sizes: ``(value, full, label)``; each value that departs from its full one is named,
            e.g. ``'200 of 50,000 train images'`` (None: the full value).
        parts: labels that come first (e.g. a backbone's CPU reductions).
        options: ``(key, value)`` config overrides, named last as ``key=value``.

    Returns:
        The label, ``'none'`` if nothing departs.
    """
    labels = list(parts)
    for value, full, label in sizes:
        if value is not None and value != full:
            labels.append(f"{value:,} of {full:,} {label}")
    labels += [f"{key}={value!r}" for key, value in options]
    return "; ".join(labels) or "none"
