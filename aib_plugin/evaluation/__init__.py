"""Framework-free evaluation: how well a saliency or attention map points at the object."""

from .cam import grad_cam_maps
from .localization import (
    LocalizationScores,
    MaxBoxAccV2,
    PeakBin,
    PointingMisses,
    best_contour_box,
    box_accuracy,
    energy_in_box,
    max_box_acc_v2,
    normalize_map,
    pointing_by_peak,
    pointing_hit,
    pointing_misses,
    resize_map,
    score_maps,
    shift_map,
)

__all__ = [
    "LocalizationScores",
    "MaxBoxAccV2",
    "PeakBin",
    "PointingMisses",
    "best_contour_box",
    "box_accuracy",
    "grad_cam_maps",
    "energy_in_box",
    "max_box_acc_v2",
    "normalize_map",
    "pointing_by_peak",
    "pointing_hit",
    "pointing_misses",
    "resize_map",
    "score_maps",
    "shift_map",
]
