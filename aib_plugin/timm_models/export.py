"""Export ``<arch>_aib`` models with ``torch.export`` and to ONNX, the attention map optional.

An :class:`AIBNet` in eval mode exports as it is (``torch.export.export(model, (x,))``) and gives
the logits. :class:`AttentionOutputWrapper` adds the attention map as a second output::

    model = timm.create_model('resnet18_aib', num_classes=10).eval()
    wrapped = AttentionOutputWrapper(model).eval()
    logits, attention = wrapped(images)                      # (B, 10), (B, 1, h, w)
    program = torch.export.export(wrapped, (images,))
    export_onnx(model, 'model.onnx', images)                 # inputs 'input', outputs 'logits',
                                                             # 'attention'; run with onnxruntime
"""

from __future__ import annotations

import os
from typing import Union

import torch
import torch.nn as nn

from .model import AIBNet


class AttentionOutputWrapper(nn.Module):
    """An :class:`AIBNet` whose forward returns ``(logits, attention_mean)``.

    ``attention_mean`` is the deterministic attention map ``mu_a = sigmoid(head(X))`` of shape
    (B, 1, h, w) at the resolution of the modulated feature map (the same map
    ``model.ib_attention`` computes and the MMPretrain classifiers attach as ``attention_map``).
    Export it in eval mode: in training mode the logits come from sampled attention and codes.

    Args:
        model: an AIB model from ``timm.create_model('<arch>_aib...')``.

    Raises:
        TypeError: if ``model`` is not an :class:`AIBNet`.
    """

    def __init__(self, model: AIBNet) -> None:
        super().__init__()
        if not isinstance(model, AIBNet):
            raise TypeError(
                "AttentionOutputWrapper needs an AIB model (AIBNet, from "
                f"timm.create_model('<arch>_aib')), got model of type {type(model).__name__}"
            )
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the logits (as ``model(x)``) and the attention mean (B, 1, h, w)."""
        logits = self.model(x)
        return logits, self.model.attention_output().attention_mean


def export_onnx(
    model: AIBNet,
    path: Union[str, os.PathLike],
    example_input: torch.Tensor,
    with_attention: bool = True,
    dynamic_batch: bool = True,
) -> None:
    """Export an AIB model (in eval mode) to ONNX with torch's dynamo-based exporter.

    The graph has one input, ``input``, and the outputs ``logits`` and, with ``with_attention``,
    ``attention`` (the attention mean, (B, 1, h, w)). Needs the ``onnx`` and ``onnxscript``
    packages (``torch.onnx.export(..., dynamo=True)``).

    Args:
        model: the AIB model; it is put in eval mode.
        path: the ``.onnx`` file to write.
        example_input: an input batch (B, C, H, W) that fixes the spatial size.
        with_attention: add the attention map as a second output.
        dynamic_batch: let the batch size vary (otherwise fixed to ``example_input``'s).

    Raises:
        TypeError: if ``model`` is not an :class:`AIBNet`.
    """
    if not isinstance(model, AIBNet):
        raise TypeError(f"export_onnx needs an AIB model (AIBNet), got {type(model).__name__}")
    model.eval()
    module: nn.Module = AttentionOutputWrapper(model).eval() if with_attention else model
    outputs = ["logits", "attention"] if with_attention else ["logits"]
    dynamic_shapes = None
    if dynamic_batch:
        dynamic_shapes = {"x": {0: torch.export.Dim("batch", min=1, max=4096)}}
    torch.onnx.export(
        module,
        (example_input,),
        os.fspath(path),
        input_names=["input"],
        output_names=outputs,
        dynamic_shapes=dynamic_shapes,
        dynamo=True,
    )
