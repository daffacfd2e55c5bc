import inspect

import numpy as np
import pytest
from sklearn.datasets import load_digits

from aib_plugin.datasets import make_cluttered_digits
from aib_plugin.datasets.cluttered_digits import (
    RENAMED_ARGUMENTS,
    _upscaled_digits,
    source_split,
)


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


@pytest.mark.parametrize("canvas, digit_scale", [(64, 3), (40, 2), (24, 3)])
def test_box_covers_every_digit_pixel(canvas, digit_scale):
    split = make_cluttered_digits(
        30, canvas=canvas, digit_scale=digit_scale, num_distractors=0, noise_std=0.0
    )
    upscaled, _ = _upscaled_digits(digit_scale)
    for image, box, source in zip(split.images, split.boxes, split.source_indices, strict=True):
        x1, y1, x2, y2 = box
        assert 0 <= x1 < x2 <= canvas and 0 <= y1 < y2 <= canvas
        outside = image.copy()
        outside[y1:y2, x1:x2] = 0
        assert outside.max() == 0  # without clutter, nothing lies outside the box
        inside = image[y1:y2, x1:x2]
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        assert (image > 0).sum() == (upscaled[source] > 0).sum()  # the whole digit is drawn


def test_clutter_is_outside_signal_and_digit_is_intact():
    clean = make_cluttered_digits(10, num_distractors=0, noise_std=0.0, seed=1)
    clutter = make_cluttered_digits(10, num_distractors=8, noise_std=0.0, seed=1)
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
        (dict(num_images=0), ValueError, "num_images"),
        (dict(num_images=5, split="val"), ValueError, "split"),
        (dict(num_images=5, canvas=16, digit_scale=3), ValueError, "canvas must be"),
        (dict(num_images=5, distractor_size=30), ValueError, "distractor_size"),
        (dict(num_images=5, num_distractors=-1), ValueError, "num_distractors"),
        (dict(num_images=5, noise_std=-1.0), ValueError, "noise_std"),
        (dict(num_images=2.5), TypeError, "num_images"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_cluttered_digits(**kwargs)


def test_the_argument_names_are_those_of_cluttered_mnist():
    from aib_plugin.datasets import make_cluttered_mnist

    mnist = set(inspect.signature(make_cluttered_mnist).parameters)
    digits = set(inspect.signature(make_cluttered_digits).parameters)
    assert {"num_images", "split", "canvas", "num_distractors", "distractor_size"} <= mnist & digits


def test_old_argument_names_are_aliases():
    new = make_cluttered_digits(num_images=4, canvas=40, num_distractors=3, distractor_size=8)
    old = make_cluttered_digits(num_samples=4, canvas_size=40, num_clutter=3, clutter_size=8)
    for x, y in zip(new, old, strict=True):
        assert np.array_equal(x, y)
    assert new.images.shape == (4, 40, 40)
    assert set(RENAMED_ARGUMENTS) == {"num_samples", "canvas_size", "num_clutter", "clutter_size"}


@pytest.mark.parametrize("old, new", sorted(RENAMED_ARGUMENTS.items()))
def test_an_old_name_with_its_new_name_is_an_error(old, new):
    kwargs = dict(num_images=2, canvas=40, num_distractors=1, distractor_size=8)
    with pytest.raises(TypeError, match=rf"both '{old}' \(the old name\) and '{new}'"):
        make_cluttered_digits(**{**kwargs, old: kwargs[new]})


def test_the_mmpretrain_dataset_takes_the_new_names_and_the_old_ones():
    from mmpretrain.registry import DATASETS

    import aib_plugin.mmpretrain  # noqa: F401  (registers ClutteredDigits)

    new = dict(num_images=3, canvas=40, num_distractors=2, distractor_size=8, seed=1)
    old = dict(num_samples=3, canvas_size=40, num_clutter=2, clutter_size=8, seed=1)
    a = DATASETS.build(dict(type="ClutteredDigits", **new))
    b = DATASETS.build(dict(type="ClutteredDigits", **old))
    assert len(a) == len(b) == 3
    for i in range(3):
        assert np.array_equal(a.get_data_info(i)["img"], b.get_data_info(i)["img"])
    assert a.get_data_info(0)["img"].shape == (40, 40, 3)
    assert "canvas: 40" in repr(b) and "num_distractors: 2" in repr(b)
    with pytest.raises(
        TypeError, match=r"both 'num_clutter' \(the old name\) and 'num_distractors'"
    ):
        DATASETS.build(dict(type="ClutteredDigits", num_clutter=2, num_distractors=2))
    # an error about a value given under its old name says so
    with pytest.raises(ValueError, match="canvas must be .* given as its old name canvas_size"):
        DATASETS.build(dict(type="ClutteredDigits", canvas_size=10))
