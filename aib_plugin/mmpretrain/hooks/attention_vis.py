"""``AttentionVisualizationHook``: attention overlays of fixed validation images, as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample
from mmpretrain.utils import get_ori_model


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
    """Every ``interval`` validation rounds, draw the attention of chosen validation images.

    It draws from the validation outputs it is handed, as MMPretrain's ``VisualizationHook``
    does: each prediction of an IB classifier carries its ``attention_map``, and the batch its
    input image. Each chosen image gives one PNG (image | attention map | overlay), named
    ``<name>_<index>`` (``index``: the sample's ``sample_idx``), written through
    ``runner.visualizer.add_image`` at step = the number of finished training epochs, i.e. by
    every visualizer backend (``LocalVisBackend`` writes
    ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<index>_<epoch>.png``; TensorBoard and
    W&B get the image too). Only the main process draws, from the samples it validates (in
    distributed runs the other ranks' share of the chosen images is not drawn).

    Args:
        interval: validation rounds between two drawings.
        num_images: draw the dataset's first ``num_images`` samples, if ``indices`` is None.
        indices: explicit dataset indices (``sample_idx``) to draw.
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
        self.indices = None if indices is None else {int(i) for i in indices}
        self.num_images = num_images
        self.alpha = alpha
        self.min_size = min_size
        self.name = name
        self._rounds = 0

    def before_val_epoch(self, runner) -> None:
        """Count validation rounds (the interval counts rounds, not epochs)."""
        self._rounds += 1

    def _wanted(self, index: int) -> bool:
        return index in self.indices if self.indices is not None else index < self.num_images

    def after_val_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Optional[dict] = None,
        outputs: Optional[Sequence[DataSample]] = None,
    ) -> None:
        """Draw the chosen samples of this batch (main process, every ``interval`` rounds)."""
        if (self._rounds - 1) % self.interval != 0 or not is_main_process():
            return
        if not data_batch or not outputs:
            return
        model = get_ori_model(runner.model)
        bgr_input = bool(getattr(model.data_preprocessor, "_channel_conversion", False))
        for image, sample in zip(data_batch["inputs"], outputs, strict=True):
            index = sample.get("sample_idx")
            if index is None or not self._wanted(int(index)):
                continue
            if "attention_map" not in sample:
                raise KeyError(
                    "AttentionVisualizationHook: the predictions carry no attention_map; use an "
                    "IB classifier (IBImageClassifier or IBTimmClassifier)"
                )
            self.draw(runner, image, sample.attention_map, int(index), bgr_input)

    def draw(
        self, runner, image: torch.Tensor, attention: torch.Tensor, index: int, bgr_input: bool
    ) -> str:
        """Write the panel of one image (C, H, W, as loaded) and its map (h, w); return its name."""
        rgb = image.cpu().numpy().transpose(1, 2, 0)  # CHW -> HWC, as loaded
        rgb = np.ascontiguousarray(rgb[..., ::-1] if bgr_input else rgb).astype(np.uint8)
        size = rgb.shape[:2]
        att = F.interpolate(
            attention.float()[None, None], size=size, mode="bilinear", align_corners=False
        )
        panel = attention_panel(rgb, att[0, 0].cpu().numpy(), self.alpha)
        scale = max(1, -(-self.min_size // min(size)))
        if scale > 1:
            panel = np.repeat(np.repeat(panel, scale, axis=0), scale, axis=1)
        name = f"{self.name}_{index}"
        # step: the finished training epochs (validation runs after the epoch count moved on)
        runner.visualizer.add_image(name, panel, step=runner.epoch)
        return name
