"""The pointing game's maximum: located at the peak cell's centre, not at the upsampled border."""

import math

import numpy as np
import pytest
import torch

from aib_plugin.evaluation import (
    PEAK_RULES,
    locate_peak,
    pointing_by_peak,
    pointing_hit,
    pointing_misses,
    resize_map,
    score_maps,
)

GRIDS = (2, 4, 8)
IMAGE_SIDES = (60, 224)


def _one_hot(grid: int, row: int, col: int) -> np.ndarray:
    saliency = np.zeros((grid, grid))
    saliency[row, col] = 1.0
    return saliency


def _cell_centre(grid: int, side: int, index: int) -> float:
    return (index + 0.5) * side / grid - 0.5


def _cell_box(grid: int, side: int, row: int, col: int) -> tuple[int, int, int, int]:
    step = side / grid
    return (
        math.floor(col * step),
        math.floor(row * step),
        math.ceil((col + 1) * step),
        math.ceil((row + 1) * step),
    )


def _centre_box(grid: int, side: int, row: int, col: int) -> tuple[int, int, int, int]:
    """A box around the cell's centre, a quarter cell on each side (an object inside the cell)."""
    quarter = side / grid / 4
    x, y = _cell_centre(grid, side, col), _cell_centre(grid, side, row)
    return (
        math.floor(x - quarter),
        math.floor(y - quarter),
        math.ceil(x + quarter) + 1,
        math.ceil(y + quarter) + 1,
    )


def _cells(grid: int):
    return [(row, col) for row in range(grid) for col in range(grid)]


@pytest.mark.parametrize("side", IMAGE_SIDES)
@pytest.mark.parametrize("grid", GRIDS)
def test_every_one_hot_cell_is_located_at_its_centre(grid, side):
    for row, col in _cells(grid):
        x, y = locate_peak(_one_hot(grid, row, col), (side, side))
        assert abs(x - _cell_centre(grid, side, col)) <= 0.5, (row, col)
        assert abs(y - _cell_centre(grid, side, row)) <= 0.5, (row, col)


@pytest.mark.parametrize("side", IMAGE_SIDES)
@pytest.mark.parametrize("grid", GRIDS)
def test_every_one_hot_cell_hits_its_cell_and_an_object_at_its_centre(grid, side):
    maps = [_one_hot(grid, row, col) for row, col in _cells(grid)]
    cell_boxes = [_cell_box(grid, side, row, col) for row, col in _cells(grid)]
    centre_boxes = [_centre_box(grid, side, row, col) for row, col in _cells(grid)]
    for boxes in (cell_boxes, centre_boxes):
        hits = [pointing_hit(m, b, (side, side)) for m, b in zip(maps, boxes, strict=True)]
        assert all(hits)
        assert score_maps(maps, boxes, (side, side)).pointing_game == 1.0
        misses = pointing_misses(maps, boxes, (side, side), margin=0)
        assert misses.hits == len(maps) and misses.mean_offset == pytest.approx((0, 0), abs=0.5)


@pytest.mark.parametrize("grid", GRIDS)
def test_the_upsampled_argmax_misses_objects_in_top_and_left_cells(grid):
    side = 224
    border = [(row, col) for row, col in _cells(grid) if row == 0 or col == 0]
    maps = [_one_hot(grid, row, col) for row, col in border]
    boxes = [_centre_box(grid, side, row, col) for row, col in border]
    argmax = score_maps(maps, boxes, (side, side), peak="argmax").pointing_game
    assert argmax == 0.0  # the first maximal pixel lies in row 0 or column 0
    assert score_maps(maps, boxes, (side, side)).pointing_game == 1.0
    first = locate_peak(_one_hot(grid, 0, 0), (side, side), peak="argmax")
    assert first == (0.0, 0.0)


@pytest.mark.parametrize("side", IMAGE_SIDES)
@pytest.mark.parametrize("grid", GRIDS)
def test_the_upsampled_rule_centres_the_flat_maximum(grid, side):
    for row, col in _cells(grid):
        saliency = _one_hot(grid, row, col)
        x, y = locate_peak(saliency, (side, side), peak="upsampled")
        upsampled = resize_map(saliency, (side, side))
        assert locate_peak(upsampled) == pytest.approx((x, y))  # the same rule, per pixel
        assert pointing_hit(saliency, _cell_box(grid, side, row, col), (side, side), "upsampled")
        if 0 < row < grid - 1 and 0 < col < grid - 1:  # interior: the peak is the cell centre
            assert abs(x - _cell_centre(grid, side, col)) <= 0.5
            assert abs(y - _cell_centre(grid, side, row)) <= 0.5
    # a top-left cell's flat outer half: centred a quarter cell from the border
    x, y = locate_peak(_one_hot(grid, 0, 0), (side, side), peak="upsampled")
    assert x == pytest.approx(y) and abs(x - (side / grid / 2 - 1) / 2) <= 0.5


def test_ties_resolve_to_the_centre_of_the_largest_maximal_region():
    saliency = np.zeros((4, 4))
    saliency[1, 1:3] = 1.0  # two adjacent maximal cells: the point lies between them
    assert locate_peak(saliency, (40, 40)) == pytest.approx((19.5, 14.5))
    saliency[3, 0] = 1.0  # a single maximal cell elsewhere: the larger region wins
    assert locate_peak(saliency, (40, 40)) == pytest.approx((19.5, 14.5))
    # values a tiny share of the range below the maximum count as ties (float32 noise)
    noisy = np.zeros((4, 4), dtype=np.float32)
    noisy[2, 2], noisy[2, 3] = 1.0, np.float32(1.0) - np.float32(6e-8)
    assert locate_peak(torch.from_numpy(noisy), (40, 40)) == pytest.approx((29.5, 24.5))
    assert locate_peak(np.full((4, 4), 0.3), (40, 40)) is None  # a constant map has no peak


def test_a_map_at_the_image_resolution_keeps_its_pixel_and_rectangular_images_scale():
    saliency = np.zeros((64, 64))
    saliency[40, 12] = 1.0
    assert locate_peak(saliency) == (12.0, 40.0)
    wide = np.zeros((2, 4))
    wide[1, 3] = 1.0  # cell (1, 3) of a 2 x 4 map on a 20 x 80 image: x in [60, 80), y in [10, 20)
    assert locate_peak(wide, (20, 80)) == pytest.approx((69.5, 14.5))
    assert pointing_hit(wide, (60, 10, 80, 20), (20, 80))
    assert not pointing_hit(wide, (0, 0, 60, 20), (20, 80))


def test_pointing_tolerance_counts_maxima_near_the_box():
    saliency = np.zeros((224, 224))
    saliency[100, 140] = 1.0
    box = (50, 80, 125, 120)  # x2 - 1 = 124: the peak is 16 px right of the box
    assert not pointing_hit(saliency, box)
    assert not pointing_hit(saliency, box, tolerance=15)
    assert pointing_hit(saliency, box, tolerance=16)
    saliency = np.zeros((224, 224))
    saliency[130, 135] = 1.0  # 11 px right and 11 px below the box: 15.6 px (Euclidean)
    assert not pointing_hit(saliency, box, tolerance=15)
    assert pointing_hit(saliency, box, tolerance=15.6)
    scores = score_maps([saliency], [box], (224, 224), pointing_tolerance=16)
    assert scores.pointing_game == 1.0
    assert score_maps([saliency], [box], (224, 224)).pointing_game == 0.0


def test_pointing_by_peak_uses_the_cell_rule():
    box = _centre_box(4, 60, 0, 0)
    bins = pointing_by_peak([0.8 * _one_hot(4, 0, 0)], [box], (60, 60))
    assert [(b.num_images, b.hits) for b in bins if b.num_images] == [(1, 1)]
    bins = pointing_by_peak([0.8 * _one_hot(4, 0, 0)], [box], (60, 60), peak="argmax")
    assert [(b.num_images, b.hits) for b in bins if b.num_images] == [(1, 0)]


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: locate_peak(np.eye(4), (8, 8), peak="max"),
            r"peak must be one of \('cell', 'upsampled', 'argmax'\), got 'max'",
        ),
        (
            lambda: pointing_hit(np.eye(4), (0, 0, 4, 4), (8, 8), upsample="nearest"),
            r"upsample must be one of \('bilinear', 'bicubic'\), got 'nearest'",
        ),
        (
            lambda: pointing_hit(np.eye(4), (0, 0, 4, 4), tolerance=-1),
            "tolerance must be a finite number >= 0 pixels, got -1.0",
        ),
        (lambda: locate_peak(np.eye(4), (8, 8, 3)), r"\(height, width\).*got \(8, 8, 3\)"),
        (lambda: locate_peak(np.eye(4), (0, 8)), r"\(height, width\).*got \(0, 8\)"),
        (lambda: pointing_hit(np.eye(4), (70, 70, 80, 80), (64, 64)), "empty.*64x64"),
    ],
)
def test_bad_pointing_options(call, match):
    with pytest.raises(ValueError, match=match):
        call()
    assert PEAK_RULES[0] == "cell"  # the default rule comes first
