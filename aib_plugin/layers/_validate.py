"""Argument checks shared by the IB layers: clear errors that name the bad value."""

import math

import torch


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def check_non_negative(name: str, value: object) -> float:
    """Return ``value`` as float if it is a finite real number >= 0, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a non-negative number, got {value!r} ({type(value).__name__})"
        )
    if not (value >= 0 and math.isfinite(value)):  # also catches NaN and inf
        raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    return float(value)


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise naming ``name``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value  # type: ignore[return-value]


@torch.jit.ignore
def check_feature_map(x: torch.Tensor, channels: int, who: str) -> None:
    """Check that ``x`` is an NCHW tensor with ``channels`` channels."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who} expects a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(
            f"{who} expects a 4-D feature map (B, C, H, W) with C={channels}, "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        )
    if x.shape[1] != channels:
        raise ValueError(
            f"{who} was built for in_chs={channels} channels, got a feature map with "
            f"{x.shape[1]} channels (shape {tuple(x.shape)})"
        )


@torch.jit.ignore
def check_floating(x: torch.Tensor, who: str) -> None:
    """Check that ``x`` is a floating-point tensor."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{who} expects a floating-point tensor x, got {got}")
