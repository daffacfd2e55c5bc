"""Grad-CAM maps for models without IB attention, through the ``grad-cam`` package.

The same package MMPretrain's own CAM tool uses, so plain and AIB models are compared on the
same footing (see :mod:`aib_plugin.evaluation.localization`).
"""

from collections.abc import Callable, Sequence
from typing import Optional

import numpy as np
import torch
import torch.nn as nn


class _LogitsOf(nn.Module):
    """Wrap any callable ``inputs -> logits`` as a module for ``pytorch_grad_cam``."""

    def __init__(self, model: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.forward_fn = forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_fn(x)


def grad_cam_maps(
    model: nn.Module,
    target_layer: nn.Module,
    inputs: torch.Tensor,
    classes: Optional[Sequence[int]] = None,
    forward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
) -> np.ndarray:
    """Grad-CAM maps of ``inputs`` (B, C, H, W) at ``target_layer``, resized to (B, H, W).

    Args:
        model: the classifier (put in eval mode by the caller).
        target_layer: the layer whose activations and gradients form the map (usually the last
            stage of the backbone).
        inputs: a preprocessed batch.
        classes: the class to explain per image; None explains each image's predicted class.
        forward: ``inputs -> logits`` if calling ``model(inputs)`` does not return logits (for
            an MMPretrain classifier: ``lambda x: model(x, mode='tensor')``).

    Returns:
        float32 maps in [0, 1], one per image.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    wrapped = _LogitsOf(model, forward or model)
    if classes is not None and len(classes) != inputs.shape[0]:
        raise ValueError(f"got {len(classes)} classes for a batch of {inputs.shape[0]} images")
    targets = None if classes is None else [ClassifierOutputTarget(int(c)) for c in classes]
    with GradCAM(model=wrapped, target_layers=[target_layer]) as cam:
        maps = cam(input_tensor=inputs, targets=targets)
    return np.asarray(maps, dtype=np.float32)
