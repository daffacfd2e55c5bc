import numpy as np
import pytest
from sklearn.datasets import load_digits

from aib_plugin.datasets import make_cluttered_digits
from aib_plugin.datasets.cluttered_digits import _upscaled_digits, source_split


def test_deterministic_from_seed():
    a = make_cluttered_digits(20, seed=3)
    b = make_cluttered_digits(20, seed=3)
    c = make_cluttered_digits(20, seed=4)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(a.images, c.images)


def test_train_and_test_use_disjoint_source_digits():
    train, test = source_split("train"), source_split("test")
    assert not set(train) & set(test)
    assert len(train) + len(test) == 1797
    tr = make_cluttered_digits(300, "train")
    te = make_cluttered_digits(300, "test")
    assert set(tr.source_indices) <= set(train)
    assert set(te.source_indices) <= set(test)


def test_labels_match_source_digits():
    split = make_cluttered_digits(50, "test")
    assert np.array_equal(split.labels, load_digits().target[split.source_indices])


@pytest.mark.parametrize("canvas_size, digit_scale", [(64, 3), (40, 2), (24, 3)])
def test_box_covers_every_digit_pixel(canvas_size, digit_scale):
    split = make_cluttered_digits(
        30, canvas_size=canvas_size, digit_scale=digit_scale, num_clutter=0, noise_std=0.0
    )
    upscaled, _ = _upscaled_digits(digit_scale)
    for image, box, source in zip(split.images, split.boxes, split.source_indices, strict=True):
        x1, y1, x2, y2 = box
        assert 0 <= x1 < x2 <= canvas_size and 0 <= y1 < y2 <= canvas_size
        outside = image.copy()
        outside[y1:y2, x1:x2] = 0
        assert outside.max() == 0  # without clutter, nothing lies outside the box
        inside = image[y1:y2, x1:x2]
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        assert (image > 0).sum() == (upscaled[source] > 0).sum()  # the whole digit is drawn


def test_clutter_is_outside_signal_and_digit_is_intact():
    clean = make_cluttered_digits(10, num_clutter=0, noise_std=0.0, seed=1)
    clutter = make_cluttered_digits(10, num_clutter=8, noise_std=0.0, seed=1)
    assert (clutter.images > 0).sum() > (clean.images > 0).sum()
    upscaled, _ = _upscaled_digits(3)
    for img, box, source in zip(clutter.images, clutter.boxes, clutter.source_indices, strict=True):
        assert img.shape == (64, 64) and img.dtype == np.uint8
        digit = upscaled[source]
        ys, xs = np.nonzero(digit)
        tight = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        x1, y1, x2, y2 = box
        drawn = img[y1:y2, x1:x2]
        assert np.array_equal(drawn[tight > 0], tight[tight > 0])  # clutter never hides it
    assert clutter.labels.shape == (10,) and clutter.boxes.shape == (10, 4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_samples=0), ValueError, "num_samples"),
        (dict(num_samples=5, split="val"), ValueError, "split"),
        (dict(num_samples=5, canvas_size=16, digit_scale=3), ValueError, "canvas_size"),
        (dict(num_samples=5, clutter_size=30), ValueError, "clutter_size"),
        (dict(num_samples=5, noise_std=-1.0), ValueError, "noise_std"),
        (dict(num_samples=2.5), TypeError, "num_samples"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_cluttered_digits(**kwargs)
