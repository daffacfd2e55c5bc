"""Export: ``_aib`` models in eval mode through ``torch.export`` and ONNX (dynamo exporter, run
with onnxruntime) give the eager outputs; the attention map is an optional second output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import timm
import torch

import aib_plugin  # noqa: F401  (registers the *_aib models)
from aib_plugin.timm_models import AttentionOutputWrapper, export_onnx

#: float32 graphs: the same ops in another order (ONNX) or the same kernels (torch.export).
ATOL = 1e-4
RTOL = 1e-4
MODELS = {
    "resnet18_aib": 64,
    "mobilenetv3_large_100_aib_qt": 64,  # another family, with the anchor quantizer in the graph
}


def _model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model(name, num_classes=7).eval()


@pytest.fixture(scope="module", params=sorted(MODELS))
def built(request) -> tuple[str, torch.nn.Module, torch.Tensor]:
    name = request.param
    size = MODELS[name]
    return (
        name,
        _model(name),
        torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1)),
    )


def test_wrapper_returns_logits_and_the_attention_mean(built) -> None:
    _, model, x = built
    with torch.no_grad():
        logits, attention = AttentionOutputWrapper(model)(x)
        features = model.forward_features(x)
        mu = model.ib_attention.attention_mean(_stage_input(model, x))
    assert logits.shape == (2, 7)
    torch.testing.assert_close(logits, model(x), atol=0, rtol=0)
    assert attention.shape == mu.shape and attention.shape[:2] == (2, 1)
    torch.testing.assert_close(attention, mu, atol=0, rtol=0)
    assert ((attention > 0) & (attention < 1)).all()
    assert features.dim() == 4


def _stage_input(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The feature map the attention sees, captured by a hook."""
    seen: list[torch.Tensor] = []
    handle = model.ib_attention.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    try:
        model(x)
    finally:
        handle.remove()
    return seen[0]


@pytest.mark.slow
def test_torch_export_matches_eager(built) -> None:
    _, model, x = built
    wrapped = AttentionOutputWrapper(model).eval()
    program = torch.export.export(wrapped, (x,))
    plain = torch.export.export(model, (x,))
    with torch.no_grad():
        logits, attention = wrapped(x)
        exported_logits, exported_attention = program.module()(x)
        torch.testing.assert_close(exported_logits, logits, atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(exported_attention, attention, atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(plain.module()(x), logits, atol=ATOL, rtol=RTOL)


@pytest.mark.slow
def test_onnx_export_runs_in_onnxruntime(built, tmp_path: Path) -> None:
    name, model, x = built
    path = tmp_path / f"{name}.onnx"
    export_onnx(model, path, x)  # with the attention, dynamic batch
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits", "attention"]
    x3 = torch.randn(3, *x.shape[1:])  # another batch size than the example
    for batch in (x, x3):
        with torch.no_grad():
            logits, attention = AttentionOutputWrapper(model)(batch)
        onnx_logits, onnx_attention = session.run(None, {"input": batch.numpy()})
        np.testing.assert_allclose(onnx_logits, logits.numpy(), atol=ATOL, rtol=RTOL)
        np.testing.assert_allclose(onnx_attention, attention.numpy(), atol=ATOL, rtol=RTOL)


@pytest.mark.slow
def test_onnx_export_without_attention(tmp_path: Path) -> None:
    model = _model("resnet18_aib")
    x = torch.randn(1, 3, 64, 64)
    export_onnx(model, tmp_path / "m.onnx", x, with_attention=False, dynamic_batch=False)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(logits, model(x).numpy(), atol=ATOL, rtol=RTOL)


def test_wrapper_refuses_other_models() -> None:
    with pytest.raises(TypeError, match="model"):
        AttentionOutputWrapper(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="AIBNet"):
        export_onnx(torch.nn.Linear(2, 2), "unused.onnx", torch.zeros(1, 2))
