import numpy as np
import pytest
import torch

from aib_plugin.evaluation import (
    LocalizationScores,
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
from aib_plugin.evaluation.localization import (
    MAX_BOX_ACC_THRESHOLDS,
    box_ious_per_threshold,
    max_box_acc_v2_from_ious,
)

BOX = (10, 20, 30, 40)  # x1, y1, x2, y2


def _blob(center, size=64, sigma=3.0):
    yy, xx = np.mgrid[:size, :size]
    return np.exp(-((xx - center[0]) ** 2 + (yy - center[1]) ** 2) / (2 * sigma**2))


def test_pointing_game_on_known_maps():
    assert pointing_hit(_blob((20, 30)), BOX)
    assert not pointing_hit(_blob((50, 5)), BOX)
    assert not pointing_hit(np.ones((64, 64)), BOX)  # a flat map points nowhere
    edge = np.zeros((64, 64))
    edge[40, 30] = 1.0  # x2, y2 are exclusive
    assert not pointing_hit(edge, BOX)
    edge[39, 29] = 2.0
    assert pointing_hit(torch.from_numpy(edge), BOX)


def test_energy_in_box_known_values():
    inside = np.zeros((64, 64))
    inside[20:40, 10:30] = 1.0
    assert energy_in_box(inside, BOX) == pytest.approx(1.0)
    half = inside.copy()
    half[0:20, 40:60] = 1.0
    assert energy_in_box(half, BOX) == pytest.approx(0.5)
    # an offset (e.g. a sigmoid baseline of 0.5) carries no energy after normalisation
    assert energy_in_box(0.5 + 0.5 * half, BOX) == pytest.approx(0.5)
    assert energy_in_box(np.full((64, 64), 0.7), BOX) == 0.0


def test_box_accuracy_best_threshold():
    good = np.zeros((64, 64))
    good[20:40, 10:30] = 1.0
    good[20:40, 10:30] += 0.2 * np.random.default_rng(0).random((20, 20))
    wrong = np.zeros((64, 64))
    wrong[0:10, 50:64] = 1.0
    acc, threshold = box_accuracy([good, good, wrong], [BOX, BOX, BOX])
    assert acc == pytest.approx(2 / 3)
    assert 0 < threshold < 1
    acc, _ = box_accuracy([wrong], [BOX])
    assert acc == 0.0


def test_box_accuracy_uses_largest_region():
    saliency = np.zeros((64, 64))
    saliency[20:40, 10:30] = 1.0  # the object: 400 px
    saliency[0:3, 60:63] = 1.0  # a small distractor: 9 px
    assert box_accuracy([saliency], [BOX], thresholds=[0.5])[0] == 1.0


def test_resize_and_score_maps_on_low_res_maps():
    low = np.zeros((8, 8))
    low[3, 2] = 1.0  # pixel rows 24..31, cols 16..23 at 64x64
    assert resize_map(low, (64, 64)).shape == (64, 64)
    scores = score_maps([low, np.ones((8, 8))], [BOX, BOX], image_size=(64, 64))
    assert scores.pointing_game == 0.5
    assert scores.num_images == 2
    assert 0 < scores.energy_in_box <= 0.5


def test_normalize_map_range():
    out = normalize_map(np.array([[2.0, 4.0], [6.0, 10.0]]))
    assert out.min() == 0.0 and out.max() == 1.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: pointing_hit(np.zeros((2, 3, 4)), BOX), "2-D"),
        (lambda: pointing_hit(np.zeros((64, 64)), (1, 2, 3)), r"\(x1, y1, x2, y2\)"),
        (lambda: energy_in_box(np.zeros((64, 64)), (70, 70, 80, 80)), "empty"),
        (lambda: energy_in_box(np.full((4, 4), np.nan), BOX), "NaN"),
        (lambda: box_accuracy([np.zeros((4, 4))], []), "1 maps but 0 boxes"),
        (lambda: score_maps([np.zeros((4, 4))], [BOX, BOX], (64, 64)), "1 maps but 2 boxes"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _peak_map(x: int, y: int, size: int = 64) -> np.ndarray:
    saliency = np.zeros((size, size))
    saliency[y, x] = 1.0
    return saliency


def test_pointing_misses_splits_near_from_far_and_measures_the_offset():
    box = (20, 20, 30, 30)  # centre (24.5, 24.5)
    maps = [
        _peak_map(25, 25),  # inside: a hit
        _peak_map(33, 25),  # 4 px right of the box: a near miss at margin 8
        _peak_map(50, 50),  # 21 px away: a far miss
        np.ones((64, 64)),  # constant: no maximum, a far miss, no offset
    ]
    misses = pointing_misses(maps, [box] * 4, (64, 64), margin=8)
    assert (misses.num_images, misses.hits, misses.near_misses, misses.far_misses) == (4, 1, 1, 2)
    # offsets (0.5, 0.5), (8.5, 0.5), (25.5, 25.5)
    assert misses.mean_offset == pytest.approx((34.5 / 3, 26.5 / 3))
    # a smaller margin turns the near miss into a far one
    assert pointing_misses(maps, [box] * 4, (64, 64), margin=3).near_misses == 0
    with pytest.raises(ValueError, match="margin must be >= 0 pixels, got -1"):
        pointing_misses(maps, [box] * 4, (64, 64), margin=-1)


def test_pointing_by_peak_bins_maps_by_their_own_maximum():
    box = (20, 20, 30, 30)
    maps = [
        0.2 * _peak_map(25, 25),  # faded, inside: bin [0, 0.3)
        0.2 * _peak_map(50, 50),  # faded, outside
        0.7 * _peak_map(50, 50),  # [0.6, 0.9), outside
        _peak_map(25, 25),  # full peak (1.0 goes to the last bin), inside
        0.95 * _peak_map(26, 26),  # [0.9, 1.0], inside
    ]
    bins = pointing_by_peak(maps, [box] * 5, (64, 64))
    assert [(b.low, b.high) for b in bins] == [(0.0, 0.3), (0.3, 0.6), (0.6, 0.9), (0.9, 1.0)]
    assert [(b.num_images, b.hits) for b in bins] == [(2, 1), (0, 0), (1, 0), (2, 2)]
    with pytest.raises(ValueError, match=r"maximum 2 lies outside the edges \[0.0, 0.3"):
        pointing_by_peak([2 * _peak_map(25, 25)], [box], (64, 64))
    with pytest.raises(ValueError, match="edges must be at least two increasing values"):
        pointing_by_peak(maps, [box] * 5, (64, 64), edges=(0.5, 0.5))


def test_shift_map_moves_the_peak_and_keeps_the_border():
    moved = shift_map(_peak_map(10, 20), -4, -4)
    assert np.unravel_index(np.argmax(moved), moved.shape) == (16, 6)
    assert moved.max() == pytest.approx(1.0)
    # half a pixel splits the peak between two pixels
    assert shift_map(_peak_map(10, 20), 0.5, 0)[20, 10:12] == pytest.approx([0.5, 0.5])
    ramp = np.tile(np.arange(8.0), (8, 1))
    assert shift_map(ramp, 2, 0)[0, :3] == pytest.approx([0.0, 0.0, 0.0])  # border extends


def _box_map(box, value=1.0, size=64, base=None):
    saliency = np.zeros((size, size)) if base is None else base
    x1, y1, x2, y2 = box
    saliency[y1:y2, x1:x2] = value
    return saliency


def test_max_box_acc_v2_of_a_map_equal_to_the_box_is_one():
    result = max_box_acc_v2([_box_map(BOX)], [BOX])
    assert result.score == 1.0 and result.accuracies == (1.0, 1.0, 1.0)
    assert result.iou_thresholds == (0.3, 0.5, 0.7) and result.num_images == 1
    # the box is pixel-exact (x2, y2 exclusive): one pixel more on each side lowers the IoU
    wider = _box_map((9, 19, 31, 41))
    ious = box_ious_per_threshold(wider, BOX)
    assert ious.max() == pytest.approx(400 / 484)
    assert len(MAX_BOX_ACC_THRESHOLDS) == 100 and MAX_BOX_ACC_THRESHOLDS[:3] == (0.0, 0.01, 0.02)
    assert MAX_BOX_ACC_THRESHOLDS[-1] == 0.99


def test_max_box_acc_v2_of_a_one_pixel_spot_in_a_large_box_is_zero():
    spot = np.zeros((64, 64))
    spot[30, 30] = 1.0
    large = (4, 4, 60, 60)
    result = max_box_acc_v2([spot], [large])
    assert result.accuracies[1] == 0.0 and result.score == 0.0
    assert box_ious_per_threshold(spot, large).max() == pytest.approx(1 / (56 * 56))
    # a constant map localizes nothing, whatever the box
    assert max_box_acc_v2([np.full((64, 64), 0.3)], [(0, 0, 64, 64)]).score == 0.0


def test_max_box_acc_v2_counts_every_contour_not_only_the_largest():
    saliency = _box_map((34, 30, 64, 64))  # the largest region: 30 x 34 px, far from the box
    saliency = _box_map((2, 2, 12, 12), base=saliency)  # a small blob exactly on the box
    box = (2, 2, 12, 12)
    assert box_accuracy([saliency], [box])[0] == 0.0  # the largest region misses
    assert max_box_acc_v2([saliency], [box]).score == 1.0


def test_best_contour_box_is_the_region_that_fits_the_object_best():
    saliency = _box_map((34, 30, 64, 64))  # a large region away from the box
    saliency = _box_map((2, 2, 12, 12), base=saliency)  # and one exactly on it
    assert best_contour_box(saliency, (2, 2, 12, 12), 0.5) == (1.0, (2, 2, 12, 12))
    iou, fit = best_contour_box(saliency, (0, 0, 20, 20), 0.5)
    assert fit == (2, 2, 12, 12) and iou == pytest.approx(100 / 400)
    # the per-threshold IoUs of MaxBoxAccV2 are this box's
    assert box_ious_per_threshold(saliency, (0, 0, 20, 20))[50] == pytest.approx(iou)
    assert best_contour_box(np.full((64, 64), 0.3), BOX, 0.5) == (0.0, None)
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\], got 1.5"):
        best_contour_box(saliency, BOX, 1.5)


def test_max_box_acc_v2_chooses_the_best_threshold_per_iou_level():
    box = (16, 16, 48, 48)  # 32 x 32
    ring = (12, 12, 53, 53)  # 41 x 41 around it: IoU 1024 / 1681 = 0.61
    a = _box_map(box, base=_box_map(ring, 0.4))  # low tau: the ring; high tau: the box
    b = _box_map((30, 30, 34, 34), base=_box_map(ring, 0.4))  # high tau: a 4 x 4 core only
    result = max_box_acc_v2([a, b], [box, box])
    # IoU 0.3 and 0.5: both images at low tau; IoU 0.7: only a, from tau = 0.4 up
    assert result.accuracies == (1.0, 1.0, 0.5)
    assert result.thresholds == (0.0, 0.0, 0.4)
    assert result.score == pytest.approx(2.5 / 3)
    # one threshold for all three levels would give at most 2/3
    ious = np.stack([box_ious_per_threshold(m, box) for m in (a, b)])
    per_tau = np.mean([np.mean(ious >= d, axis=0) for d in (0.3, 0.5, 0.7)], axis=0)
    assert per_tau.max() == pytest.approx(2 / 3)
    # custom IoU levels
    assert max_box_acc_v2([a, b], [box, box], iou_thresholds=[0.7]).score == 0.5


def test_score_maps_reports_max_box_acc_v2():
    scores = score_maps([_box_map(BOX), np.ones((8, 8))], [BOX, BOX], image_size=(64, 64))
    assert isinstance(scores, LocalizationScores)
    assert scores.max_box_acc_v2 == pytest.approx(0.5)  # the flat map matches nothing
    assert scores._fields == (
        "pointing_game",
        "energy_in_box",
        "box_accuracy",
        "best_threshold",
        "max_box_acc_v2",
        "num_images",
    )


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: max_box_acc_v2([np.zeros((4, 4))], []), ValueError, "1 maps but 0 boxes"),
        (lambda: max_box_acc_v2([], []), ValueError, "at least one map"),
        (lambda: max_box_acc_v2([np.zeros((3, 4, 4))], [BOX]), ValueError, "2-D"),
        (lambda: max_box_acc_v2([np.full((64, 64), np.inf)], [BOX]), ValueError, "NaN or inf"),
        (lambda: max_box_acc_v2([np.ones((64, 64))], [(1, 2, 3)]), ValueError, "x1, y1"),
        (
            lambda: max_box_acc_v2([_box_map(BOX)], [BOX], thresholds=[0.5, 1.5]),
            ValueError,
            r"thresholds must lie in \[0, 1\], got 1.5",
        ),
        (
            lambda: max_box_acc_v2([_box_map(BOX)], [BOX], iou_thresholds=[0.0]),
            ValueError,
            r"iou_thresholds must lie in \(0, 1\], got 0.0",
        ),
        (
            lambda: max_box_acc_v2([_box_map(BOX)], [BOX], iou_thresholds=[]),
            ValueError,
            "iou_thresholds must name at least one value",
        ),
        (
            lambda: max_box_acc_v2_from_ious(np.zeros((2, 5))),
            ValueError,
            r"ious must have shape \(N >= 1, 100\).*got \(2, 5\)",
        ),
    ],
)
def test_max_box_acc_v2_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
