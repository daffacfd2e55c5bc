"""Loading the base model's timm weights into ``_aib`` models, from a file the test writes."""

from __future__ import annotations

import pytest
import timm
import torch

from aib_plugin.timm_models import base_to_aib_state_dict

from .conftest import create, images


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
