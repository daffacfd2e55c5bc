"""Framework-free dataset generators (the MMPretrain dataset classes wrap them)."""

from .cluttered_digits import ClutteredDigitsSplit, make_cluttered_digits
from .cluttered_mnist import (
    PUBLISHED_TEST_ERRORS,
    ClutteredMNISTSplit,
    MNISTSplit,
    load_mnist_split,
    make_cluttered_mnist,
)

__all__ = [
    "PUBLISHED_TEST_ERRORS",
    "ClutteredDigitsSplit",
    "ClutteredMNISTSplit",
    "MNISTSplit",
    "load_mnist_split",
    "make_cluttered_digits",
    "make_cluttered_mnist",
]
