"""The generic wrapper, the IB loss call, the options and the errors on bad input."""

from __future__ import annotations

import pytest
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models import build_model_with_cfg, register_model

import aib_plugin
from aib_plugin.layers import IBLossTerms, PaperAttentionHead
from aib_plugin.timm_models import AIBNet, create_aib_model, ensure_aib_model, register_aib_model

from .conftest import create, images


def test_create_aib_model_wraps_any_timm_cnn() -> None:
    model = aib_plugin.create_aib_model("resnet26d", num_classes=6, bottleneck_dim=32)
    assert isinstance(model, AIBNet) and "resnet26d_aib" in timm.list_models("*_aib")
    assert model.backbone.default_cfg["architecture"] == "resnet26d"
    with torch.no_grad():
        assert model.eval()(images()).shape == (2, 6)
    again = timm.create_model("resnet26d_aib", num_classes=2)  # now registered by name
    assert again.head_hidden_size == 256
    qt = create_aib_model("resnet26d", quantized=True, num_classes=2)
    assert qt.ib_attention.quantizer.num_anchors == 20


def test_register_returns_name_and_refuses_duplicates() -> None:
    assert register_aib_model("resnet10t") == "resnet10t_aib"
    with pytest.raises(ValueError, match="'resnet10t_aib'.*already has a model"):
        register_aib_model("resnet10t")
    with pytest.raises(ValueError, match="'resnet18_aib'.*already has a model"):
        register_aib_model("resnet18")
    with pytest.raises(ValueError, match="already an AIB model"):
        register_aib_model("resnet18_aib")


def test_ensure_aib_model_registers_an_aib_name_of_any_timm_arch() -> None:
    assert not timm.is_model("resnet26t_aib_qt")
    assert ensure_aib_model("resnet26t_aib_qt") is True  # registered now, quantized
    assert timm.is_model("resnet26t_aib_qt") and not timm.is_model("resnet26t_aib")
    assert ensure_aib_model("resnet26t_aib_qt") is False  # known: nothing to do
    assert ensure_aib_model("resnet18_aib") is False  # built in
    for name in ("resnet26t", "no_such_arch_aib", "resnet26t_aibx"):  # no AIB name of an arch
        assert ensure_aib_model(name) is False and not timm.is_model(name + "_aib")
    model = timm.create_model("resnet26t_aib_qt", num_classes=3)
    assert model.ib_attention.quantizer.num_anchors == 20


def test_unknown_arch_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown timm architecture 'resnet_does_not_exist'"):
        create_aib_model("resnet_does_not_exist")
    with pytest.raises(TypeError, match="base_arch must be a timm model name"):
        register_aib_model(nn.Linear(2, 2))


class _FlatNet(nn.Module):
    """A timm-style model whose 'feature map' is a flat vector."""

    def __init__(self, num_classes: int = 10, in_chans: int = 3, **_: object) -> None:
        super().__init__()
        self.proj = nn.Linear(in_chans, 8)
        self.fc = nn.Linear(8, num_classes) if num_classes else nn.Identity()
        self.num_classes, self.num_features = num_classes, 8
        self.feature_info = [dict(num_chs=8, reduction=1, module="proj")]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.mean((2, 3)))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return x if pre_logits else self.fc(x)


@register_model
def aibtest_flatnet(pretrained: bool = False, **kwargs) -> _FlatNet:
    kwargs.pop("pretrained_cfg", None)
    return build_model_with_cfg(_FlatNet, "aibtest_flatnet", pretrained, **kwargs)


def test_non_spatial_backbone_is_an_error() -> None:
    with pytest.raises(TypeError, match=r"aibtest_flatnet: the feature map .*'proj'.* not spatial"):
        create_aib_model("aibtest_flatnet")


def test_bad_options_are_errors() -> None:
    with pytest.raises(ValueError, match="head must be one of"):
        create("resnet18_aib", head="heavy")
    with pytest.raises(ValueError, match="attention_at=9 is out of range"):
        create("resnet18_aib", attention_at=9)
    with pytest.raises(ValueError, match="attention_at='layer9' is not a module of resnet18"):
        create("resnet18_aib", attention_at="layer9")
    with pytest.raises(TypeError, match="attention_at must be an int, 'output' or a module"):
        create("resnet18_aib", attention_at=1.5)
    with pytest.raises(ValueError, match="global_pool=''"):
        create("resnet18_aib", global_pool="", num_classes=3)
    with pytest.raises(ValueError, match="pools its class token.*Use attention_at=-2"):
        create("vit_small_patch16_224_aib", attention_at=-1)
    with pytest.raises(ValueError, match="head='paper' needs a convolutional"):
        create("vit_small_patch16_224_aib", head="paper")


def test_ib_loss_is_an_error_without_training_forward() -> None:
    model = create("resnet18_aib", num_classes=3)
    with pytest.raises(RuntimeError, match="no forward yet"):
        model.ib_loss()
    model.train()(images())
    assert isinstance(model.ib_loss(), IBLossTerms)
    with torch.no_grad():
        model.eval()(images())
    with pytest.raises(RuntimeError, match="eval mode"):
        model.ib_loss()


@pytest.mark.parametrize(
    "name, learn_anchors",
    [("resnet18_aib", False), ("resnet18_aib_qt", False), ("resnet18_aib_qt", True)],
)
def test_ib_loss_terms_and_weights(name: str, learn_anchors: bool) -> None:
    weights = dict(beta=0.5, codebook_weight=0.3, commitment_weight=0.2)
    model = create(name, num_classes=3, learn_anchors=learn_anchors, **weights)
    model.train()(images())
    terms = model.ib_loss()
    assert torch.allclose(terms.kl, 0.5 * terms.kl_bits)
    if learn_anchors:  # the codebook loss trains the anchors
        assert torch.allclose(terms.codebook, 0.3 * terms.codebook_raw)
        assert torch.allclose(terms.commitment, 0.2 * terms.commitment_raw)
        assert torch.allclose(terms.total(), terms.kl + terms.codebook + terms.commitment)
    elif name.endswith("_qt"):  # frozen anchors: no codebook loss, the commitment stays
        assert terms.codebook is None
        assert torch.allclose(terms.commitment, 0.2 * terms.commitment_raw)
        assert torch.allclose(terms.total(), terms.kl + terms.commitment)
    else:
        assert terms.codebook is None and torch.equal(terms.total(), terms.kl)


@pytest.mark.parametrize("modulation", ["residual", "gate", "normalized"])
def test_area_weight_and_modulation_options(modulation: str) -> None:
    model = create(
        "resnet18_aib",
        num_classes=3,
        area_weight=0.2,
        modulation=modulation,
        initial_attention=0.2,
        head_kernel_size=1,
    )
    assert model.ib_attention.modulation == modulation
    assert model.ib_attention.head.initial_attention == 0.2
    assert model.ib_attention.head.conv.kernel_size == (1, 1)
    model.train()(images())
    terms = model.ib_loss()
    assert "loss_area" in terms.losses()
    assert torch.allclose(terms.area, 0.2 * terms.area_raw) and 0 < terms.area_raw < 1
    with pytest.raises(ValueError, match="modulation"):
        create("resnet18_aib", num_classes=3, modulation="mask")
    peak = create("resnet18_aib", num_classes=3, area_weight=0.2, area_mode="peak")
    assert peak.objective.area_mode == "peak"
    relative = create("resnet18_aib", num_classes=3, area_weight=0.2, area_mode="relative")
    assert relative.objective.area_mode == "relative"


def test_confidence_gated_area_price() -> None:
    """``area_gate='confidence'``: the area price of a pass scaled by its logits' confidence."""
    torch.manual_seed(0)
    model = create(
        "resnet18_aib", num_classes=3, area_weight=0.5, area_mode="relative",
        area_gate="confidence",
    ).train()  # fmt: skip
    logits = model(images())
    terms = model.ib_loss()
    factor = aib_plugin.layers.classifier_confidence(logits)
    torch.testing.assert_close(terms.area_gate, factor)
    torch.testing.assert_close(terms.area, 0.5 * factor * terms.area_raw)
    assert "area_gate" in model.ib_log_values()
    model.forward_head(model.forward_features(images()))  # the same through the two halves
    assert model.ib_loss().area_gate is not None
    with pytest.raises(ValueError, match="needs the pass's logits"):
        model.forward_head(model.forward_features(images()), pre_logits=True)


def test_training_loop_lowers_the_loss() -> None:
    """The documented loop: criterion + model.ib_loss().total(), anchors at a small lr."""
    torch.manual_seed(0)
    model = create("resnet18_aib_qt", num_classes=2, bottleneck_dim=16)
    groups = aib_plugin.layers.ib_param_groups(model, lr=0.05)
    optimizer = torch.optim.SGD(groups, momentum=0.9)
    x, y = images(batch=8, size=32), torch.tensor([0, 1] * 4)
    x[y == 1] += 1.0
    model.train()
    losses = []
    for _ in range(8):
        loss = F.cross_entropy(model(x), y) + model.ib_loss().total()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_pre_logits_is_z_and_mean_in_eval() -> None:
    model = create("resnet18_aib", num_classes=3, bottleneck_dim=16).eval()
    x = images()
    with torch.no_grad():
        feats = model.forward_features(x)
        z = model.forward_head(feats, pre_logits=True)
        mu = model.bottleneck(model.backbone.forward_head(feats, pre_logits=True)).mu
        assert torch.equal(z, mu) and z.shape == (2, 16)
        assert torch.equal(model.forward_head(feats, pre_logits=True), z)  # deterministic


def test_mc_samples_average_to_batch() -> None:
    model = create("resnet18_aib", num_classes=3, mc_samples=4).eval()
    x = images()
    with torch.no_grad():
        torch.manual_seed(0)
        a = model(x)
        torch.manual_seed(1)
        b = model(x)
    assert a.shape == (2, 3) and not torch.equal(a, b)  # 16 sampled logits averaged per image
    scripted = torch.jit.script(model)
    with torch.no_grad():
        assert scripted(x).shape == (2, 3)  # the Monte-Carlo average also runs in TorchScript


@pytest.mark.parametrize("stage", [-2, "output"])
def test_attention_placement(stage) -> None:
    model = create("resnet18_aib", attention_at=stage)
    path = "layer3" if stage == -2 else "layer4"
    wrapped = model.backbone.get_submodule(path)
    names = [n for n, _ in wrapped.named_children()]
    assert names[0 if stage == -2 else -1] == "ib_attention"
    assert model.ib_attention.in_chs == (128 if stage == -2 else 512)
    with torch.no_grad():
        assert model.eval()(images()).shape == (2, 1000)


def test_attention_at_names_a_module_path_as_in_mmpretrain() -> None:
    model = create("resnet18_aib", attention_at="layer3", num_classes=3)
    assert model.attention_path == "layer3"
    assert next(iter(model.backbone.layer3.named_children()))[0] == "ib_attention"
    assert model.ib_attention.in_chs == 128


def test_attention_stage_is_an_alias_of_attention_at() -> None:
    alias = create("resnet18_aib", attention_stage="layer3", num_classes=3)
    assert alias.attention_path == "layer3"
    with pytest.raises(ValueError, match="attention_stage=9 is out of range"):
        create("resnet18_aib", attention_stage=9)  # the message names the keyword given
    with pytest.raises(ValueError, match="attention_at or its alias attention_stage, not both"):
        create("resnet18_aib", attention_at="layer3", attention_stage=-2)


def test_a_placement_given_by_either_name_replaces_the_registered_default() -> None:
    default = timm.create_model("convnext_tiny_aib", num_classes=2)
    assert default.attention_path == "stages.3.blocks"
    for key in ("attention_at", "attention_stage"):
        model = timm.create_model("convnext_tiny_aib", num_classes=2, **{key: "output"})
        assert model.attention_path == "stages.3", key


def test_paper_head_is_a_stride_one_copy_of_the_last_stage() -> None:
    model = create("resnet18_aib", head="paper", num_classes=4)
    head = model.ib_attention.head
    assert isinstance(head, PaperAttentionHead)
    assert head.stage.state_dict().keys() == model.backbone.layer4[1:].state_dict().keys()
    assert head.stage[0].conv1.stride == (1, 1)
    model.train()
    out = model(images())
    (F.cross_entropy(out, torch.tensor([0, 1])) + model.ib_loss().total()).backward()
    assert head.stage[0].conv1.weight.grad is not None


def test_reset_classifier_zero_is_a_feature_extractor() -> None:
    model = create("resnet18_aib", bottleneck_dim=32).eval()
    model.reset_classifier(0)
    with torch.no_grad():
        assert model(images()).shape == (2, 32)
    model.reset_classifier(5, "max")
    with torch.no_grad():
        assert model(images()).shape == (2, 5)
    assert model.get_classifier().out_features == 5
