"""``AttentionVisualizationHook``: attention overlays of fixed validation images, as PNG."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model

from ._ib_module import find_ib_module


def attention_panel(image: np.ndarray, attention: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Put an image, its attention map and their overlay side by side.

    Args:
        image: RGB uint8 image, (H, W, 3).
        attention: attention map in [0, 1] of shape (H, W) (values are clipped for display; the
            colour scale is absolute, so maps of different images compare).
        alpha: weight of the heat map in the overlay.

    Returns:
        RGB uint8 panel of shape (H, 3 * W, 3): image | map | overlay.
    """
    heat = (np.clip(attention, 0.0, 1.0) * 255).astype(np.uint8)
    heat = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    overlay = (alpha * heat + (1.0 - alpha) * image).round().astype(np.uint8)
    return np.concatenate([image, heat, overlay], axis=1)


@HOOKS.register_module()
class AttentionVisualizationHook(Hook):
    """Every ``interval`` epochs, draw the attention of a fixed set of validation images.

    Each image gives one PNG (image | attention map | overlay), named ``<name>_<index>``, written
    through ``runner.visualizer.add_image`` at step = epoch, i.e. by every visualizer backend
    (``LocalVisBackend`` writes
    ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<index>_<epoch>.png``; TensorBoard and W&B
    backends get the image too). Only rank 0 computes and writes.

    Args:
        interval: epochs between two drawings.
        num_images: how many validation images (the first ones) to draw, if ``indices`` is None.
        indices: explicit dataset indices to draw.
        alpha: heat map weight in the overlay.
        min_size: small images are enlarged (nearest) to at least this side for viewing.
        name: prefix of the image names.
    """

    priority = "LOW"

    def __init__(
        self,
        interval: int = 1,
        num_images: int = 8,
        indices: Optional[Sequence[int]] = None,
        alpha: float = 0.5,
        min_size: int = 128,
        name: str = "attention",
    ) -> None:
        if interval < 1:
            raise ValueError(f"interval must be >= 1, got {interval}")
        if indices is None and num_images < 1:
            raise ValueError(f"num_images must be >= 1, got {num_images}")
        self.interval = interval
        self.indices = None if indices is None else [int(i) for i in indices]
        self.num_images = num_images
        self.alpha = alpha
        self.min_size = min_size
        self.name = name

    def after_train_epoch(self, runner) -> None:
        """Draw the attention every ``interval`` epochs (rank 0 only)."""
        if not self.every_n_epochs(runner, self.interval) or not is_main_process():
            return
        if runner.val_loop is None:
            warnings.warn(
                "AttentionVisualizationHook needs a val_dataloader; nothing drawn", stacklevel=2
            )
            return
        # runner.epoch is incremented after this hook: step = number of finished epochs
        self.draw(runner, runner.val_loop.dataloader.dataset, step=runner.epoch + 1)

    def draw(self, runner, dataset, step: int) -> list[str]:
        """Draw the chosen images of ``dataset`` with the current model; return the names."""
        indices = self.indices or list(range(min(self.num_images, len(dataset))))
        items = [dataset[i] for i in indices]
        model = get_ori_model(runner.model)
        ib_module = find_ib_module(model)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                data = model.data_preprocessor(pseudo_collate(items), False)
                model(data["inputs"], mode="tensor")
        finally:
            model.train(was_training)
        attention = ib_module.last_attention.float()
        bgr_input = bool(getattr(model.data_preprocessor, "_channel_conversion", False))
        names = []
        for index, item, att in zip(indices, items, attention, strict=True):
            image = item["inputs"].cpu().numpy().transpose(1, 2, 0)  # CHW -> HWC, as loaded
            image = np.ascontiguousarray(image[..., ::-1] if bgr_input else image).astype(np.uint8)
            size = image.shape[:2]
            att = F.interpolate(att[None], size=size, mode="bilinear", align_corners=False)
            panel = attention_panel(image, att[0, 0].cpu().numpy(), self.alpha)
            scale = max(1, -(-self.min_size // min(size)))
            if scale > 1:
                panel = np.repeat(np.repeat(panel, scale, axis=0), scale, axis=1)
            name = f"{self.name}_{index}"
            runner.visualizer.add_image(name, panel, step=step)
            names.append(name)
        return names
