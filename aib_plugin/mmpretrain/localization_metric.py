"""``LocalizationMetric``: how well attention maps (or CAMs) point at ground-truth boxes."""

from collections.abc import Sequence
from typing import Optional

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from aib_plugin.evaluation import resize_map, scoring_conventions
from aib_plugin.evaluation.localization import (
    DEFAULT_THRESHOLDS,
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
    :mod:`aib_plugin.evaluation.localization` (:func:`~aib_plugin.evaluation.score_maps` takes
    the same options). Reports ``pointing_game``, ``energy_in_box``, ``box_acc`` and
    ``max_box_acc_v2`` (MaxBoxAccV2 of Choe et al. 2020: boxes around all contours, thresholds 0
    to 0.99 by ``cam_curve_interval``, the mean over IoU 0.3, 0.5 and 0.7), all as percentages
    like MMPretrain's accuracy, and ``box_threshold`` (where ``box_acc`` peaks).

    wsolevaluation's conventions: ``dict(type='LocalizationMetric', upsample='bicubic',
    cam_curve_interval=0.001)``.

    Args:
        map_key: field of the prediction holding the map.
        box_key: field of the data sample holding the box.
        thresholds: thresholds tried for box accuracy.
        collect_device: as ``BaseMetric``.
        prefix: metric name prefix (default ``'localization'``).
        upsample: how maps are resized to the image: ``'bilinear'`` (default) or
            ``'bicubic'``.
        peak: how the pointing game locates the maximum: ``'cell'`` (default: the peak cell's
            centre on the map's own grid), ``'upsampled'`` or ``'argmax'`` (see
            :func:`aib_plugin.evaluation.locate_peak`).
        pointing_tolerance: pixels (of the original image) from the box within which a
            maximum still hits; 0 by default, 15 in Zhang et al.'s pointing game.
        cam_curve_interval: step of MaxBoxAccV2's threshold grid (0.01 by default,
            wsolevaluation's finer curve 0.001).
    """

    default_prefix = "localization"

    def __init__(
        self,
        map_key: str = "attention_map",
        box_key: str = "gt_bbox",
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        collect_device: str = "cpu",
        prefix: Optional[str] = None,
        upsample: str = "bilinear",
        peak: str = "cell",
        pointing_tolerance: float = 0.0,
        cam_curve_interval: float = 0.01,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not thresholds:
            raise ValueError("thresholds must name at least one threshold in (0, 1)")
        self.map_key = map_key
        self.box_key = box_key
        self.thresholds = tuple(float(t) for t in thresholds)
        self.conventions = scoring_conventions(
            upsample, peak, pointing_tolerance, cam_curve_interval
        )

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
            options = self.conventions
            raw = sample[self.map_key]
            saliency = resize_map(raw, size, options.upsample)
            box = np.asarray(sample[self.box_key], dtype=np.float64).reshape(-1)
            self.results.append(
                dict(
                    pointing=pointing_hit(
                        raw, box, size, options.peak, options.upsample, options.pointing_tolerance
                    ),
                    energy=energy_in_box(saliency, box),
                    box_hits=box_hits_per_threshold(saliency, box, self.thresholds),
                    box_ious=box_ious_per_threshold(saliency, box, options.max_box_thresholds),
                )
            )

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        """Average the per-image scores (percentages, like MMPretrain's accuracy)."""
        box_hits = np.mean([r["box_hits"] for r in results], axis=0)
        best = int(np.argmax(box_hits))
        max_box = max_box_acc_v2_from_ious(
            np.stack([r["box_ious"] for r in results]), self.conventions.max_box_thresholds
        )
        return {
            "pointing_game": 100.0 * float(np.mean([r["pointing"] for r in results])),
            "energy_in_box": 100.0 * float(np.mean([r["energy"] for r in results])),
            "box_acc": 100.0 * float(box_hits[best]),
            "box_threshold": self.thresholds[best],
            "max_box_acc_v2": 100.0 * max_box.score,
        }
