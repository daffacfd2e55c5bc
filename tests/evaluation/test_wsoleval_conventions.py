"""wsolevaluation's conventions as options: bicubic upsampling and the 0.001 threshold grid."""

import cv2
import numpy as np
import pytest

from aib_plugin.evaluation import (
    UPSAMPLE_MODES,
    WSOLEVAL_CONVENTIONS,
    max_box_acc_thresholds,
    max_box_acc_v2,
    resize_map,
    score_maps,
    scoring_conventions,
)
from aib_plugin.evaluation.localization import MAX_BOX_ACC_THRESHOLDS, box_ious_per_threshold


@pytest.mark.parametrize("shape, size", [((7, 7), (224, 224)), ((4, 6), (60, 90))])
def test_bicubic_resize_matches_opencv_inter_cubic(shape, size):
    saliency = np.random.default_rng(0).random(shape)
    ours = resize_map(saliency, size, mode="bicubic")
    theirs = cv2.resize(saliency.astype(np.float32), size[::-1], interpolation=cv2.INTER_CUBIC)
    assert ours.shape == size
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.abs(ours - resize_map(saliency, size)).max() > 1e-3  # bilinear differs
    assert UPSAMPLE_MODES == ("bilinear", "bicubic")


def test_threshold_grids():
    assert max_box_acc_thresholds() == MAX_BOX_ACC_THRESHOLDS
    fine = max_box_acc_thresholds(0.001)
    assert len(fine) == 1000 and fine[:3] == (0.0, 0.001, 0.002) and fine[-1] == 0.999
    assert max_box_acc_thresholds(0.3) == (0.0, 0.3, 0.6, 0.9)


def _levels_map() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A map whose box is the mask above uint8 level 1 only, a level the 0.01 grid skips.

    Levels of the 0.01 grid: int(0.01 * 255) = 2, int(0.0 * 255) = 0; level 1 (scaled values
    >= 2) is reached only by a finer grid such as 0.001 (int(0.004 * 255) = 1).
    """
    saliency = np.zeros((64, 64))
    saliency[2:62, 2:62] = 1.5 / 255  # scaled 1: the mask above level 0, far too large
    box = (20, 20, 40, 40)
    saliency[20:40, 20:40] = 2.5 / 255  # scaled 2: the mask above level 1, the box itself
    saliency[29:31, 29:31] = 1.0  # the mask above level 2 and higher: a 2 x 2 core
    return saliency, box


def test_the_fine_grid_reaches_levels_the_default_grid_skips():
    saliency, box = _levels_map()
    assert max_box_acc_v2([saliency], [box]).score == 0.0
    fine = max_box_acc_v2([saliency], [box], thresholds=max_box_acc_thresholds(0.001))
    assert fine.score == 1.0 and all(0.0 < t < 0.01 for t in fine.thresholds)
    assert box_ious_per_threshold(saliency, box, [0.004])[0] == 1.0
    scores = score_maps([saliency], [box], (64, 64), cam_curve_interval=0.001)
    assert scores.max_box_acc_v2 == 1.0
    assert score_maps([saliency], [box], (64, 64)).max_box_acc_v2 == 0.0


def test_wsoleval_conventions_change_the_resize_of_every_score():
    saliency = np.zeros((7, 7))
    saliency[3, 3], saliency[3, 4] = 1.0, 0.6
    box = (90, 90, 160, 130)
    ours = score_maps([saliency], [box], (224, 224))
    theirs = score_maps([saliency], [box], (224, 224), **WSOLEVAL_CONVENTIONS)
    assert ours.pointing_game == theirs.pointing_game == 1.0  # the cell rule reads the 7x7 map
    assert theirs.energy_in_box != pytest.approx(ours.energy_in_box, abs=1e-4)
    assert dict(WSOLEVAL_CONVENTIONS) == {"upsample": "bicubic", "cam_curve_interval": 0.001}


def test_scoring_conventions_defaults_and_errors():
    defaults = scoring_conventions()
    assert defaults.upsample == "bilinear" and defaults.peak == "cell"
    assert defaults.pointing_tolerance == 0.0
    assert defaults.max_box_thresholds == MAX_BOX_ACC_THRESHOLDS
    assert scoring_conventions(**WSOLEVAL_CONVENTIONS).max_box_thresholds[1] == 0.001


@pytest.mark.parametrize(
    "options, match",
    [
        (
            dict(upsample="nearest"),
            r"upsample must be one of \('bilinear', 'bicubic'\), got 'nearest'",
        ),
        (dict(peak="first"), r"peak must be one of \('cell', 'upsampled', 'argmax'\), got 'first'"),
        (dict(pointing_tolerance=-2), "finite number >= 0 pixels, got -2.0"),
        (dict(pointing_tolerance=float("nan")), "finite number >= 0 pixels, got nan"),
        (dict(cam_curve_interval=0), r"cam_curve_interval must lie in \(0, 1\), got 0"),
        (dict(cam_curve_interval=1.0), r"cam_curve_interval must lie in \(0, 1\), got 1.0"),
    ],
)
def test_bad_options_are_refused_by_score_maps(options, match):
    with pytest.raises(ValueError, match=match):
        score_maps([np.eye(4)], [(0, 0, 8, 8)], (8, 8), **options)
    with pytest.raises(ValueError, match=match):
        scoring_conventions(**options)


def test_resize_map_refuses_other_modes():
    with pytest.raises(ValueError, match=r"upsample must be one of .*got 'area'"):
        resize_map(np.eye(4), (8, 8), mode="area")
