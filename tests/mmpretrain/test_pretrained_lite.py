"""``IBTimmClassifier`` with EfficientNet-Lite ImageNet weights: timm's ``pretrained=True``, and a
weight file through MMEngine's loaders (``init_cfg=dict(type='Pretrained')``, ``load_from``)."""

from __future__ import annotations

import sys

import pytest
import timm
import torch
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

from aib_plugin.timm_models.lite_weights import LITE_PACKAGES
from aib_plugin.timm_models.pretrained import base_reference

ARCH = "tf_efficientnet_lite0"


def _lite_file() -> str:
    """The installed package's weight file (the package is optional on a user's machine)."""
    package = LITE_PACKAGES[ARCH]
    module = pytest.importorskip(package.module)
    return getattr(module, package.locator).get_model_file_path()


def _build(**kwargs) -> torch.nn.Module:
    cfg = dict(type="IBTimmClassifier", model_name=f"{ARCH}_aib", num_classes=10, **kwargs)
    return MODELS.build(cfg)


def _assert_backbone_is_file(classifier, path: str) -> None:
    """The timm model's backbone holds the file's tensors by position, classifier left out."""
    file_sd = torch.load(path, map_location="cpu", weights_only=True)
    backbone = classifier.model.backbone.state_dict()
    compared = 0
    for name, value in zip(base_reference(ARCH), file_sd.values(), strict=True):
        if not name.startswith("classifier."):
            assert torch.equal(backbone[name], value), name
            compared += 1
    assert compared == len(file_sd) - 2


def _not_backbone(classifier) -> dict[str, torch.Tensor]:
    return {
        k: v.clone()
        for k, v in classifier.model.state_dict().items()
        if not k.startswith("backbone.") or ".ib_attention." in k
    }


def test_pretrained_true_is_timms_path() -> None:
    path = _lite_file()
    model = _build(pretrained=True)
    _assert_backbone_is_file(model, path)
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 3, 224, 224), mode="tensor")
    assert out.shape == (1, 10)


@pytest.mark.parametrize("how", ["init_cfg", "load_from"])
def test_weight_file_loads_into_the_backbone(how: str, monkeypatch) -> None:
    """The Lite file at PATH (package import blocked: only the path is used) maps by position;
    the IB attention, bottleneck and decoder keep their init."""
    path = _lite_file()
    monkeypatch.setitem(sys.modules, LITE_PACKAGES[ARCH].module, None)
    if how == "init_cfg":
        model = _build(init_cfg=dict(type="Pretrained", checkpoint=path))
        before = _not_backbone(model)
        model.init_weights()
    else:  # what the Runner's load_from does
        model = _build()
        before = _not_backbone(model)
        load_checkpoint(model, path, map_location="cpu", strict=False)
    _assert_backbone_is_file(model, path)
    after = _not_backbone(model)
    assert after.keys() == before.keys() and len(after) > 4
    for key, value in before.items():
        assert torch.equal(after[key], value), key


def test_own_checkpoint_loads_as_it_is(tmp_path) -> None:
    """An ``IBTimmClassifier`` checkpoint (IB parts included) is not remapped."""
    trained = _build()
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(0.5)
    path = str(tmp_path / "ib.pth")
    torch.save({"state_dict": trained.state_dict()}, path)
    model = _build()
    load_checkpoint(model, path, map_location="cpu", strict=True)
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_a_file_that_fits_nothing_raises_instead_of_loading_nothing(tmp_path) -> None:
    path = str(tmp_path / "resnet18.pth")
    torch.save(timm.create_model("resnet18").state_dict(), path)
    model = _build()
    with pytest.raises(RuntimeError, match="do not fit the tf_efficientnet_lite0 backbone"):
        load_checkpoint(model, path, map_location="cpu", strict=False)
    renamed = {f"w{i}": v for i, v in enumerate(torch.load(path, weights_only=True).values())}
    torch.save(renamed, path)  # no timm key: matched by position, which fails
    with pytest.raises(ValueError, match="by position: it holds 122 tensors"):
        load_checkpoint(model, path, map_location="cpu", strict=False)
