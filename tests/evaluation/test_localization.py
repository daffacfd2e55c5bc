import numpy as np
import pytest
import torch

from aib_plugin.evaluation import (
    box_accuracy,
    energy_in_box,
    normalize_map,
    pointing_by_peak,
    pointing_hit,
    pointing_misses,
    resize_map,
    score_maps,
    shift_map,
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
