"""``LocalizationMetric``: how well attention maps (or CAMs) point at ground-truth boxes."""

from collections.abc import Sequence
from typing import Optional

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from aib_plugin.evaluation import resize_map
from aib_plugin.evaluation.localization import (
    DEFAULT_THRESHOLDS,
    MAX_BOX_ACC_THRESHOLDS,
    box_hits_per_threshold,
    box_ious_per_threshold,
    energy_in_box,
    max_box_acc_v2_from_ious,
    pointing_hit,
)


@METRICS.register_module()
class LocalizationMetric(BaseMetric):
    """Pointing game, energy in box, box accuracy (IoU >= 0.5, best threshold) and MaxBoxAccV2.

    Reads, per data sample, a 2-D map under ``map_key`` (``attention_map`` from the IB
    classifiers, or a CAM stored by the user) and a box ``(x1, y1, x2, y2)`` under ``box_key`` in
    the coordinates of the original image; the map is resized to ``ori_shape`` (or ``img_shape``)
    before scoring, so the test pipeline must not crop. Conventions are those of
    :mod:`aib_plugin.evaluation.localization`. Reports ``pointing_game``, ``energy_in_box``,
    ``box_acc`` and ``max_box_acc_v2`` (MaxBoxAccV2 of Choe et al. 2020: boxes around all
    contours, thresholds 0 to 0.99 by 0.01, the mean over IoU 0.3, 0.5 and 0.7), all as
    percentages like MMPretrain's accuracy, and ``box_threshold`` (where ``box_acc`` peaks).

    Args:
        map_key: field of the prediction holding the map.
        box_key: field of the data sample holding the box.
        thresholds: thresholds tried for box accuracy.
        collect_device: as ``BaseMetric``.
        prefix: metric name prefix (default ``'localization'``).
    """

    default_prefix = "localization"

    def __init__(
        self,
        map_key: str = "attention_map",
        box_key: str = "gt_bbox",
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        collect_device: str = "cpu",
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not thresholds:
            raise ValueError("thresholds must name at least one threshold in (0, 1)")
        self.map_key = map_key
        self.box_key = box_key
        self.thresholds = tuple(float(t) for t in thresholds)

    def process(self, data_batch: object, data_samples: Sequence[dict]) -> None:
        """Score each sample's map against its box; keep only the per-image scores."""
        for sample in data_samples:
            for key in (self.map_key, self.box_key):
                if key not in sample:
                    raise KeyError(
                        f"LocalizationMetric: a data sample has no {key!r} (it has "
                        f"{sorted(sample)}); use an IB classifier for 'attention_map' and keep "
                        f"the box with PackInputs(meta_keys=(..., {self.box_key!r}))"
                    )
            shape = sample.get("ori_shape", sample.get("img_shape"))
            if shape is None:
                raise KeyError(
                    "LocalizationMetric: a data sample has neither 'ori_shape' nor 'img_shape'; "
                    "keep one with PackInputs(meta_keys=(..., 'ori_shape'))"
                )
            size = tuple(shape)[:2]
            saliency = resize_map(sample[self.map_key], size)
            box = np.asarray(sample[self.box_key], dtype=np.float64).reshape(-1)
            self.results.append(
                dict(
                    pointing=pointing_hit(saliency, box),
                    energy=energy_in_box(saliency, box),
                    box_hits=box_hits_per_threshold(saliency, box, self.thresholds),
                    box_ious=box_ious_per_threshold(saliency, box, MAX_BOX_ACC_THRESHOLDS),
                )
            )

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        """Average the per-image scores (percentages, like MMPretrain's accuracy)."""
        box_hits = np.mean([r["box_hits"] for r in results], axis=0)
        best = int(np.argmax(box_hits))
        max_box = max_box_acc_v2_from_ious(np.stack([r["box_ious"] for r in results]))
        return {
            "pointing_game": 100.0 * float(np.mean([r["pointing"] for r in results])),
            "energy_in_box": 100.0 * float(np.mean([r["energy"] for r in results])),
            "box_acc": 100.0 * float(box_hits[best]),
            "box_threshold": self.thresholds[best],
            "max_box_acc_v2": 100.0 * max_box.score,
        }
