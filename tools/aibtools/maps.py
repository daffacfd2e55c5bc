"""The maps the tools score: the backbone's last stage, and a test split's maps through a Runner."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch


def last_stage(model: torch.nn.Module) -> Optional[torch.nn.Module]:
    """The backbone's last stage (the usual Grad-CAM layer), or ``None`` if none is found.

    The backbone is ``model.backbone`` (MMPretrain classifiers, ``AIBNet``), else
    ``model.model.backbone`` or ``model.model`` (``TimmClassifier``, ``IBTimmClassifier``), else
    ``model`` itself (a bare timm model). Its last stage is the last of its ``res_layers``
    (MMPretrain ResNets), the module of its last ``feature_info`` entry (timm), or the last of its
    ``stages``, ``layers``, ``blocks`` or ``features``.
    """
    backbone = getattr(model, "backbone", None)
    if backbone is None and hasattr(model, "model"):  # TimmClassifier / IBTimmClassifier
        backbone = getattr(model.model, "backbone", model.model)
    if backbone is None:
        backbone = model
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


def collect_maps(runner) -> dict[str, list]:
    """Predictions, attention maps (IB models) and Grad-CAM maps of the test split.

    ``runner`` is an MMEngine ``Runner`` whose model is trained or loaded. Grad-CAM is taken at
    :func:`last_stage`. Returns lists, one entry per test image: ``images`` (the first channel),
    ``boxes``, ``labels``, ``preds``, ``cam`` and, for IB models, ``attention``.

    Raises:
        ValueError: if the model's last stage cannot be found.
    """
    from aib_plugin.evaluation import grad_cam_maps

    model = runner.model
    model.eval()
    cam_layer = last_stage(model)
    if cam_layer is None:
        raise ValueError(f"cannot find the backbone's last stage of {type(model).__name__}")
    out = {k: [] for k in ("images", "boxes", "labels", "preds", "attention", "cam")}
    for batch in runner.build_dataloader(runner.cfg.test_dataloader):
        data = model.data_preprocessor(batch, False)
        with torch.no_grad():
            predictions = model(**data, mode="predict")
        out["cam"].extend(
            grad_cam_maps(model, cam_layer, data["inputs"], forward=lambda x: model(x, "tensor"))
        )
        for image, prediction in zip(batch["inputs"], predictions, strict=True):
            out["images"].append(image[0].numpy())
            out["boxes"].append(np.asarray(prediction.gt_bbox))
            out["labels"].append(int(prediction.gt_label))
            out["preds"].append(int(prediction.pred_label))
            if "attention_map" in prediction:
                out["attention"].append(prediction.attention_map.numpy())
    return out
