"""Quality on cluttered digits: short training runs, accuracy and localization scores.

Every variant of a backbone trains on the same data with the same schedule and seed, the recipe of
the cluttered-digits configs (AdamW, learning rate 2e-3, weight decay 0.01, linear warm-up then
cosine decay; cross-entropy in bits plus ``model.ib_loss().total()`` for AIB models, anchors at
1e-4 of the learning rate). Maps: AIB models, the attention mean ``mu_a`` captured by a forward
hook on ``model.ib_attention``; all others, Grad-CAM of the predicted class at the last feature
stage (:func:`aib_plugin.evaluation.grad_cam_maps`). Both are scored by
:func:`aib_plugin.evaluation.score_maps` against the digit's box.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import timm
import torch

from aib_plugin.datasets import make_cluttered_digits
from aib_plugin.evaluation import grad_cam_maps, score_maps
from aib_plugin.layers import ib_param_groups

from .variants import AIB_VARIANTS, Variant, build_variant

#: the quality runs' data normalisation (the cluttered-digits configs' mean / std)
PIXEL_MEAN, PIXEL_STD = 20.0, 50.0


@dataclass
class DigitsData:
    """Train and test tensors of cluttered digits (3-channel, normalised) and the test boxes."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    boxes_test: np.ndarray

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.x_test.shape[-2:])


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    x = (torch.from_numpy(images).float() - PIXEL_MEAN) / PIXEL_STD
    return x[:, None].expand(-1, 3, -1, -1).contiguous()


def load_digits_data(
    train_samples: int, test_samples: int, canvas_size: int = 64, seed: int = 0
) -> DigitsData:
    """Generate the cluttered-digits splits (train and test use disjoint source digits)."""
    train = make_cluttered_digits(train_samples, "train", canvas_size=canvas_size, seed=seed)
    test = make_cluttered_digits(test_samples, "test", canvas_size=canvas_size, seed=seed)
    return DigitsData(
        _to_tensor(train.images),
        torch.from_numpy(train.labels),
        _to_tensor(test.images),
        torch.from_numpy(test.labels),
        test.boxes,
    )


def small_model_kwargs(backbone: str, width_divisor: int, output_stride: int) -> dict[str, Any]:
    """``create_model`` arguments that narrow a timm ResNet and keep a finer last feature map.

    ``width_divisor`` divides the channels of a timm ResNet (other families ignore it);
    ``output_stride`` (e.g. 16: a 4x4 last stage at 64x64 input) goes to any family that takes it.
    """
    kwargs: dict[str, Any] = {}
    if output_stride != 32:
        kwargs["output_stride"] = output_stride
    is_resnet = timm.models.model_entrypoint(backbone).__module__ == "timm.models.resnet"
    if width_divisor > 1 and is_resnet:
        kwargs["channels"] = tuple(max(c // width_divisor, 8) for c in (64, 128, 256, 512))
        kwargs["stem_width"] = max(64 // width_divisor, 8)
    return kwargs


def _lr_at(step: int, total: int, base_lr: float, warmup: int) -> float:
    if step < warmup:
        return base_lr * (0.1 + 0.9 * step / warmup)
    progress = (step - warmup) / max(total - warmup, 1)
    return 1e-4 + 0.5 * (base_lr - 1e-4) * (1.0 + math.cos(math.pi * progress))


def train_variant(
    variant: Variant,
    data: DigitsData,
    epochs: int,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
) -> float:
    """Train ``variant`` in place; returns the seconds it took."""
    model = variant.model
    params = ib_param_groups(model, lr) if variant.is_aib else model.parameters()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    generator = torch.Generator().manual_seed(seed)
    n = data.x_train.shape[0]
    steps_per_epoch = max(n // batch_size, 1)
    total = epochs * steps_per_epoch
    warmup = max(total // 10, 1)
    model.train()
    start = time.perf_counter()
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(steps_per_epoch):
            index = order[i * batch_size : (i + 1) * batch_size]
            scale = _lr_at(step, total, 1.0, warmup)
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * scale
            loss = variant.loss(data.x_train[index], data.y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    return time.perf_counter() - start


def predict_and_maps(
    variant: Variant, x: torch.Tensor, batch_size: int = 100
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Predicted classes of ``x`` and one saliency map per image (attention or Grad-CAM)."""
    model = variant.model
    model.eval()
    preds: list[np.ndarray] = []
    maps: list[np.ndarray] = []
    captured: list[torch.Tensor] = []
    handle = None
    if variant.is_aib:
        handle = variant.attention_module().register_forward_hook(
            lambda _m, _i, out: captured.append(out.attention_mean.detach())
        )
    try:
        for start in range(0, x.shape[0], batch_size):
            batch = x[start : start + batch_size]
            captured.clear()
            with torch.no_grad():
                logits = variant.infer(batch)
            preds.append(logits.argmax(1).numpy())
            if variant.is_aib:
                maps.extend(captured[-1][:, 0].float().numpy())
            else:
                maps.extend(grad_cam_maps(model, variant.cam_layer(), batch, forward=variant.infer))
    finally:
        if handle is not None:
            handle.remove()
    return np.concatenate(preds), maps


def run_quality(
    backbone: str,
    variant_name: str,
    data: DigitsData,
    seed: int,
    epochs: int,
    batch_size: int = 32,
    lr: float = 2e-3,
    model_kwargs: Optional[dict[str, Any]] = None,
    aib_kwargs: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Train one variant with one seed and score it; returns a result row.

    ``aib_kwargs`` (e.g. ``{'area_weight': 0.1}``) go to AIB variants only.
    """
    torch.manual_seed(seed)
    kwargs = dict(model_kwargs or {})
    if variant_name in AIB_VARIANTS:
        kwargs.update(aib_kwargs or {})
    variant = build_variant(backbone, variant_name, 10, data.image_size[0], extra_kwargs=kwargs)
    seconds = train_variant(variant, data, epochs, batch_size, lr, seed)
    preds, maps = predict_and_maps(variant, data.x_test)
    scores = score_maps(maps, data.boxes_test, data.image_size)
    return dict(
        backbone=backbone,
        variant=variant_name,
        seed=seed,
        map="IB attention" if variant.is_aib else "Grad-CAM",
        accuracy=100.0 * float(np.mean(preds == data.y_test.numpy())),
        pointing_game=100.0 * scores.pointing_game,
        energy_in_box=100.0 * scores.energy_in_box,
        box_accuracy=100.0 * scores.box_accuracy,
        train_seconds=seconds,
        params=sum(p.numel() for p in variant.model.parameters()),
    )
