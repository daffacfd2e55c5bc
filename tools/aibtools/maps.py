"""The maps the tools score: the backbone's last stage, and a test split's maps through a Runner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

import numpy as np
import torch


def _backbone(model: torch.nn.Module) -> torch.nn.Module:
    backbone = getattr(model, "backbone", None)
    if backbone is None and hasattr(model, "model"):  # TimmClassifier / IBTimmClassifier
        backbone = getattr(model.model, "backbone", model.model)
    return model if backbone is None else backbone


def last_stage(model: torch.nn.Module) -> Optional[torch.nn.Module]:
    """The backbone's last stage (the usual Grad-CAM layer), or ``None`` if none is found.

    The backbone is ``model.backbone`` (MMPretrain classifiers, ``AIBNet``), else
    ``model.model.backbone`` or ``model.model`` (``TimmClassifier``, ``IBTimmClassifier``), else
    ``model`` itself (a bare timm model). Its last stage is the last of its ``res_layers``
    (MMPretrain ResNets), the module of its last ``feature_info`` entry (timm), or the last of its
    ``stages``, ``layers``, ``blocks`` or ``features``.
    """
    backbone = _backbone(model)
    if getattr(backbone, "res_layers", None):
        return getattr(backbone, backbone.res_layers[-1])
    feature_info = getattr(backbone, "feature_info", None)
    if isinstance(feature_info, list) and feature_info and "module" in feature_info[-1]:
        return backbone.get_submodule(feature_info[-1]["module"])
    for name in ("stages", "layers", "blocks", "features"):
        stages = getattr(backbone, name, None)
        if stages is not None and len(stages) > 0:
            return stages[-1]
    return None


def token_layout(model: torch.nn.Module) -> Optional[tuple[int, tuple[int, int]]]:
    """``(prefix tokens, (H, W) patch grid)`` of a timm token backbone (ViT, DeiT), else None."""
    backbone = _backbone(model)
    grid = getattr(getattr(backbone, "patch_embed", None), "grid_size", None)
    if grid is None:
        return None
    return int(getattr(backbone, "num_prefix_tokens", 0)), (int(grid[0]), int(grid[1]))


class _TokenGrid(torch.nn.Module):
    """The patch tokens (B, H * W, C) seen as a (B, C, H, W) map: the identity, reshaped."""

    def __init__(self, grid: tuple[int, int]) -> None:
        super().__init__()
        self.grid = grid

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], *self.grid)


@contextmanager
def cam_target(model: torch.nn.Module, layer: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """The module Grad-CAM reads at ``layer``: ``layer`` itself for a (B, C, H, W) output.

    For a token backbone (:func:`token_layout`), whose stages output (B, N, C) tokens, a forward
    hook routes ``layer``'s patch tokens through a reshaping module that is yielded instead: its
    output is the (B, C, H, W) patch grid, on the path to the logits (the hook puts the same
    values back), so Grad-CAM sees a map and its gradient. The hook is removed on exit.
    """
    layout = token_layout(model)
    if layout is None:
        yield layer
        return
    prefix, grid = layout
    proxy = _TokenGrid(grid)

    def route(_module, _inputs, output):
        if not isinstance(output, torch.Tensor) or output.dim() != 3:
            return None
        patches = proxy(output[:, prefix:]).flatten(2).transpose(1, 2)
        return torch.cat([output[:, :prefix], patches], dim=1)

    handle = layer.register_forward_hook(route)
    try:
        yield proxy
    finally:
        handle.remove()


def collect_maps(runner, cam: bool = True) -> dict[str, list]:
    """Predictions, attention maps (IB models) and Grad-CAM maps of the test split.

    ``runner`` is an MMEngine ``Runner`` whose model is trained or loaded. Grad-CAM is taken at
    :func:`last_stage` (through :func:`cam_target`); ``cam=False`` skips it (``cam`` stays
    empty). Returns lists, one entry per test image: ``images`` (the first channel), ``boxes``,
    ``labels``, ``preds``, ``cam`` and, for IB models, ``attention``.

    Raises:
        ValueError: if the model's last stage cannot be found.
    """
    from aib_plugin.evaluation import grad_cam_maps

    model = runner.model
    model.eval()
    cam_layer = last_stage(model)
    if cam and cam_layer is None:
        raise ValueError(f"cannot find the backbone's last stage of {type(model).__name__}")
    out = {k: [] for k in ("images", "boxes", "labels", "preds", "attention", "cam")}

    def logits(x: torch.Tensor) -> torch.Tensor:
        return model(x, "tensor")

    for batch in runner.build_dataloader(runner.cfg.test_dataloader):
        data = model.data_preprocessor(batch, False)
        with torch.no_grad():
            predictions = model(**data, mode="predict")
        if cam:
            with cam_target(model, cam_layer) as target:
                out["cam"].extend(grad_cam_maps(model, target, data["inputs"], forward=logits))
        for image, prediction in zip(batch["inputs"], predictions, strict=True):
            out["images"].append(image[0].numpy())
            out["boxes"].append(np.asarray(prediction.gt_bbox))
            out["labels"].append(int(prediction.gt_label))
            out["preds"].append(int(prediction.pred_label))
            if "attention_map" in prediction:
                out["attention"].append(prediction.attention_map.numpy())
    return out


def ink_map(image: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """The image's own intensity averaged over the cells of a ``grid = (rows, cols)`` map.

    A reference map that sees where the ink is (the digit and the distractors alike) and not
    which ink is the object: what a map scores without knowing the class. Its mass in the box is
    the ink's share there, at the coarseness of the map it is compared with.

    Raises:
        ValueError: if ``image`` is not 2-D or ``grid`` has a side below 1.
    """
    array = np.asarray(image, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"ink_map: image must be 2-D (H, W), got shape {array.shape}")
    if len(grid) != 2 or min(grid) < 1:
        raise ValueError(f"ink_map: grid must be (rows >= 1, cols >= 1), got {tuple(grid)}")
    pooled = torch.nn.functional.adaptive_avg_pool2d(
        torch.from_numpy(array)[None, None], tuple(int(side) for side in grid)
    )
    return pooled[0, 0].numpy()


def map_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson correlation of two maps of one shape over their pixels (0 if either is constant).

    Raises:
        ValueError: if the shapes differ.
    """
    if np.shape(first) != np.shape(second):
        raise ValueError(
            f"map_correlation: the maps' shapes differ, {np.shape(first)} and {np.shape(second)}"
        )
    a = np.asarray(first, dtype=np.float64).ravel()
    b = np.asarray(second, dtype=np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a * a).sum() * (b * b).sum())
    return 0.0 if scale <= 1e-12 else float((a * b).sum() / scale)
