"""Shared helpers for the timm adapter tests: small inputs, 2 threads, no downloads."""

from __future__ import annotations

from typing import Any

import pytest
import timm
import torch

import aib_plugin  # noqa: F401  (registers the *_aib models)

torch.set_num_threads(2)

#: Input side used everywhere (the default-size pool check uses one small model).
SIZE = 64

#: All registered AIB models (what a user sees after ``import aib_plugin``).
AIB_MODELS = timm.list_models("*_aib*")


def small_kwargs(name: str) -> dict[str, Any]:
    """Extra create kwargs so a model accepts SIZE x SIZE inputs (ViT has a fixed img_size)."""
    return {"img_size": SIZE} if name.startswith("vit_") else {}


def create(name: str, **kwargs: Any) -> torch.nn.Module:
    """``timm.create_model`` with the small-input kwargs (never pretrained)."""
    return timm.create_model(name, pretrained=False, **{**small_kwargs(name), **kwargs})


def base_arch(name: str) -> str:
    """``'resnet18_aib_qt'`` -> ``'resnet18'``."""
    return name.split("_aib")[0]


def images(batch: int = 2, chans: int = 3, size: int = SIZE) -> torch.Tensor:
    return torch.randn(batch, chans, size, size)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
