"""Framework-free dataset generators (the MMPretrain dataset classes wrap them).

Both cluttered datasets name their arguments alike: ``num_images``, ``split``, ``canvas``,
``num_distractors``, ``distractor_size``, ``seed``. The cluttered digits' old names
(``num_samples``, ``canvas_size``, ``num_clutter``, ``clutter_size``) still work as aliases.
"""

from .cluttered_digits import ClutteredDigitsSplit, make_cluttered_digits
from .cluttered_mnist import (
    PUBLISHED_TEST_ERRORS,
    ClutteredMNISTSplit,
    MNISTSplit,
    fresh_cluttered_mnist_image,
    load_mnist_split,
    make_cluttered_mnist,
)

__all__ = [
    "PUBLISHED_TEST_ERRORS",
    "ClutteredDigitsSplit",
    "ClutteredMNISTSplit",
    "MNISTSplit",
    "fresh_cluttered_mnist_image",
    "load_mnist_split",
    "make_cluttered_digits",
    "make_cluttered_mnist",
]
