"""Framework-free dataset generators (the MMPretrain dataset classes wrap them)."""

from .cluttered_digits import ClutteredDigitsSplit, make_cluttered_digits

__all__ = ["ClutteredDigitsSplit", "make_cluttered_digits"]
