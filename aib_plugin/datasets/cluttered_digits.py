"""Cluttered digits: scikit-learn's bundled 8x8 handwritten digits placed among clutter.

A small, download-free relative of the cluttered-MNIST benchmark used for attention models.
Each sample is one real digit, upscaled and placed at a random position on a larger canvas,
with fragments of other digits and pixel noise as clutter; the digit's tight bounding box is
kept as ground truth for localization metrics. Train and test draw from disjoint source digits.
"""

import functools
from typing import NamedTuple

import numpy as np

from .aliases import keyword_aliases

SPLITS = ("train", "test")
#: Share of scikit-learn's 1,797 source digits that the train split draws from.
TRAIN_SOURCE_FRACTION = 0.7


class ClutteredDigitsSplit(NamedTuple):
    """One generated split.

    Attributes:
        images: uint8, shape (N, canvas, canvas), digit bright on dark.
        labels: int64, shape (N,), the digit class 0 to 9.
        boxes: int64, shape (N, 4), ``(x1, y1, x2, y2)`` pixel box of the digit, ``x2``/``y2``
            exclusive; it covers every non-zero pixel of the placed digit.
        source_indices: int64, shape (N,), index of the digit in ``sklearn.datasets.load_digits``.
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    source_indices: np.ndarray


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def source_split(split: str, seed: int = 0) -> np.ndarray:
    """Indices of the scikit-learn digits that ``split`` may use (disjoint between splits).

    The partition depends only on ``seed``, not on the generation arguments.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    order = np.random.default_rng(seed).permutation(1797)
    cut = int(round(TRAIN_SOURCE_FRACTION * len(order)))
    return np.sort(order[:cut] if split == "train" else order[cut:])


@functools.lru_cache(maxsize=4)
def _upscaled_digits(scale: int) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits upscaled to uint8 (8*scale)^2 with bilinear smoothing, and their labels."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    size = 8 * scale
    images = np.stack(
        [
            np.asarray(
                Image.fromarray((d * (255.0 / 16.0)).astype(np.uint8)).resize(
                    (size, size), Image.BILINEAR
                )
            )
            for d in digits.images
        ]
    )
    images.setflags(write=False)
    return images, digits.target.astype(np.int64)


def _tight_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


#: Old argument names (before the two cluttered datasets shared one set), still accepted.
RENAMED_ARGUMENTS = {
    "num_samples": "num_images",
    "canvas_size": "canvas",
    "num_clutter": "num_distractors",
    "clutter_size": "distractor_size",
}


@keyword_aliases(**RENAMED_ARGUMENTS)
def make_cluttered_digits(
    num_images: int,
    split: str = "train",
    canvas: int = 64,
    digit_scale: int = 3,
    num_distractors: int = 6,
    distractor_size: int = 10,
    noise_std: float = 10.0,
    seed: int = 0,
) -> ClutteredDigitsSplit:
    """Generate a deterministic cluttered-digits split.

    The argument names are those of :func:`~aib_plugin.datasets.make_cluttered_mnist`; the old
    names ``num_samples``, ``canvas_size``, ``num_clutter`` and ``clutter_size`` still work
    (:data:`RENAMED_ARGUMENTS`; an old name with its new one is a ``TypeError``).

    Args:
        num_images: number of images (source digits are drawn at random, with replacement
            when there are more images than source digits).
        split: ``'train'`` or ``'test'``; they use disjoint source digits.
        canvas: side of the square canvas in pixels.
        digit_scale: the 8x8 digit is upscaled to ``8 * digit_scale`` pixels.
        num_distractors: fragments of other digits scattered on the canvas.
        distractor_size: side of each square fragment (cut from an upscaled digit).
        noise_std: std of the additive Gaussian pixel noise (0 to 255 scale).
        seed: everything (source partition, placement, clutter, noise) follows from it.

    Returns:
        The :class:`ClutteredDigitsSplit`.
    """
    _check_int("num_images", num_images, 1)
    _check_int("digit_scale", digit_scale, 1)
    _check_int("num_distractors", num_distractors, 0)
    _check_int("distractor_size", distractor_size, 1)
    digit_size = 8 * digit_scale
    _check_int("canvas", canvas, digit_size)
    if distractor_size > digit_size:
        raise ValueError(
            f"distractor_size must be <= 8 * digit_scale = {digit_size}, got {distractor_size}"
        )
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")

    upscaled, targets = _upscaled_digits(digit_scale)
    pool = source_split(split, seed)
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    images = np.zeros((num_images, canvas, canvas), dtype=np.uint8)
    labels = np.zeros(num_images, dtype=np.int64)
    boxes = np.zeros((num_images, 4), dtype=np.int64)
    sources = rng.choice(pool, size=num_images, replace=num_images > len(pool))
    span = canvas - digit_size + 1
    for i, source in enumerate(sources):
        plane = np.zeros((canvas, canvas), dtype=np.float32)
        for _ in range(num_distractors):
            other = upscaled[rng.choice(pool)]
            fy, fx = rng.integers(0, digit_size - distractor_size + 1, size=2)
            cy, cx = rng.integers(0, canvas - distractor_size + 1, size=2)
            patch = other[fy : fy + distractor_size, fx : fx + distractor_size]
            region = plane[cy : cy + distractor_size, cx : cx + distractor_size]
            np.maximum(region, patch, out=region)
        digit = upscaled[source]
        y, x = rng.integers(0, span, size=2)
        # the digit is drawn on top: clutter never hides it, and its box stays its own
        region = plane[y : y + digit_size, x : x + digit_size]
        region[digit > 0] = digit[digit > 0]
        if noise_std > 0:
            plane += rng.normal(0.0, noise_std, size=plane.shape).astype(np.float32)
        images[i] = np.clip(plane, 0, 255).astype(np.uint8)
        x1, y1, x2, y2 = _tight_box(digit > 0)
        boxes[i] = (x + x1, y + y1, x + x2, y + y2)
        labels[i] = targets[source]
    return ClutteredDigitsSplit(images, labels, boxes, sources.astype(np.int64))
