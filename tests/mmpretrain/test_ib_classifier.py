"""IBImageClassifier: build-time checks and the loss dict."""

import copy

import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from aib_plugin.layers import classifier_confidence
from aib_plugin.mmpretrain import IBAttention

BASE = dict(
    type="IBImageClassifier",
    backbone=dict(
        type="ResNet_CIFAR",
        depth=18,
        stem_channels=8,
        base_channels=8,
        out_indices=(2, 3),
    ),
    neck=dict(type="IBAttention", in_channels=64, bottleneck_dim=16),
    head=dict(type="LinearClsHead", num_classes=10, in_channels=16),
)


def _cfg(**changes) -> dict:
    cfg = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = cfg
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return cfg


def _samples(n: int) -> list[DataSample]:
    return [DataSample().set_gt_label(i % 10) for i in range(n)]


def test_loss_dict_has_separate_ib_terms() -> None:
    model = MODELS.build(_cfg(neck__num_anchors=8, neck__learn_anchors=True))
    losses = model(torch.randn(4, 3, 32, 32), _samples(4), mode="loss")
    assert {k for k in losses if k.startswith("loss")} == {
        "loss_cls",
        "loss_kl",
        "loss_vq",
        "loss_commit",
    }
    # the pass's statistics ride along, logged by MMEngine but not summed (no 'loss' in them)
    assert {k for k in losses if k.startswith("ib_")} == {
        "ib_kl_bits",
        "ib_vq",
        "ib_commit",
        "ib_attn_mean",
        "ib_attn_sparsity",
        "ib_anchor_active",
        "ib_anchor_perplexity",
    }
    loss, log_vars = model.parse_losses(losses)
    summed = sum(v for k, v in losses.items() if k.startswith("loss"))
    torch.testing.assert_close(loss, summed)
    assert "ib_attn_mean" in log_vars
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    assert losses["loss_kl"] > 0


def test_without_anchors_only_cls_and_kl() -> None:
    model = MODELS.build(_cfg())
    losses = model(torch.randn(2, 3, 32, 32), _samples(2), mode="loss")
    assert {k for k in losses if k.startswith("loss")} == {"loss_cls", "loss_kl"}


def test_area_weight_adds_loss_area_and_gate_modulation_builds() -> None:
    model = MODELS.build(
        _cfg(neck__area_weight=0.5, neck__modulation="gate", neck__head_kernel_size=1)
    )
    assert model.neck.attention.modulation == "gate"
    assert model.neck.attention.head.conv.kernel_size == (1, 1)
    losses = model(torch.randn(2, 3, 32, 32), _samples(2), mode="loss")
    assert {k for k in losses if k.startswith("loss")} == {"loss_cls", "loss_kl", "loss_area"}
    assert 0 < losses["loss_area"] < 0.5


@pytest.mark.parametrize("mode", ["peak", "relative"])
def test_area_mode_reaches_the_objective(mode: str) -> None:
    model = MODELS.build(_cfg(neck__area_weight=0.5, neck__area_mode=mode))
    assert model.neck.objective.area_mode == mode
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    losses = model(x, _samples(2), mode="loss")
    torch.manual_seed(0)
    mu = model.extract_feat(x).attention_map  # the same forward, the same noise
    peak = mu.amax(dim=(1, 2, 3))
    if mode == "peak":
        expected = 0.5 * (mu.mean() + 1 - peak.mean())
    else:
        expected = 0.5 * (mu.mean(dim=(1, 2, 3)) / peak).mean()
    torch.testing.assert_close(losses["loss_area"], expected)
    with pytest.raises(ValueError, match="area_mode"):
        MODELS.build(_cfg(neck__area_mode="max"))


def test_free_area_reaches_the_objective() -> None:
    model = MODELS.build(
        _cfg(neck__area_weight=0.5, neck__area_mode="relative", neck__area_free=0.3)
    )
    assert model.neck.objective.area_free == 0.3
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    losses = model(x, _samples(2), mode="loss")
    torch.manual_seed(0)
    mu = model.extract_feat(x).attention_map
    relative = mu.mean(dim=(1, 2, 3)) / mu.amax(dim=(1, 2, 3))
    torch.testing.assert_close(losses["loss_area"], 0.5 * (relative - 0.3).clamp_min(0).mean())
    with pytest.raises(ValueError, match="area_free must be below 1"):
        MODELS.build(_cfg(neck__area_weight=0.5, neck__area_free=1.0))


def test_confidence_gated_area_price_uses_the_heads_logits() -> None:
    model = MODELS.build(
        _cfg(neck__area_weight=0.5, neck__area_mode="relative", neck__area_gate="confidence")
    )
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    losses = model(x, _samples(2), mode="loss")
    torch.manual_seed(0)
    feats = model.extract_feat(x)  # the same forward, the same noise
    factor = classifier_confidence(model.head(feats))
    torch.testing.assert_close(losses["ib_area_gate"], factor)
    torch.testing.assert_close(losses["loss_area"], factor * feats.ib_terms.area)
    assert 0 < float(factor) < 1


def test_predict_and_tensor_modes() -> None:
    model = MODELS.build(_cfg(neck__mc_samples=2)).eval()
    preds = model(torch.randn(3, 3, 32, 32), mode="predict")
    assert len(preds) == 3 and preds[0].pred_score.shape == (10,)
    assert model(torch.randn(3, 3, 32, 32), mode="tensor").shape == (3, 10)


def test_stage_index_picks_the_backbone_output() -> None:
    model = MODELS.build(_cfg(neck__in_channels=32, neck__stage_index=0))
    feats = model.extract_feat(torch.randn(2, 3, 32, 32))
    assert feats.attention_map.shape == (2, 1, 8, 8)  # stage 2 of ResNet_CIFAR


def test_stock_classifier_with_the_neck_refuses_its_training_loss() -> None:
    """MMPretrain's own ImageClassifier builds; its loss, which reads the head only, raises
    (tests/mmpretrain/test_guards.py runs its train_step)."""
    model = MODELS.build(_cfg(type="ImageClassifier"))
    with pytest.raises(TypeError, match="type='IBImageClassifier'"):
        model(torch.randn(2, 3, 32, 32), _samples(2), mode="loss")


def test_neck_in_channels_mismatch_fails_at_build() -> None:
    with pytest.raises(ValueError, match="in_channels=128.*set the neck's in_channels"):
        MODELS.build(_cfg(neck__in_channels=128))


def test_unknown_stage_index_fails_at_build() -> None:
    with pytest.raises(IndexError, match="stage_index=5 is out of range.*2 output"):
        MODELS.build(_cfg(neck__stage_index=5))


def test_quantizer_with_one_anchor_fails_at_build() -> None:
    with pytest.raises(ValueError, match="num_anchors must be an int >= 2, got 1"):
        MODELS.build(_cfg(neck__num_anchors=1))


def test_head_in_channels_mismatch_fails_at_build() -> None:
    with pytest.raises(ValueError, match="head's in_channels=16"):
        MODELS.build(_cfg(head__in_channels=512))


def test_a_non_ib_neck_is_refused() -> None:
    with pytest.raises(TypeError, match="IBAttention"):
        MODELS.build(_cfg(neck=dict(type="GlobalAveragePooling")))
    with pytest.raises(ValueError, match="needs an IB neck"):
        MODELS.build(_cfg(neck=None))


def test_a_prebuilt_neck_is_accepted() -> None:
    neck = IBAttention(64, 16)
    model = MODELS.build(_cfg(neck=neck))
    assert model.neck is neck
    with pytest.raises(ValueError, match="with_attention=True.*with_attention=False"):
        MODELS.build(_cfg(neck=IBAttention(32, 16), attention_at="layer4"))
    placed = IBAttention(32, 16, pooled_channels=64, with_attention=False)
    assert MODELS.build(_cfg(neck=placed, attention_at="layer4")).neck is placed


def test_the_classifier_places_the_attention() -> None:
    """One owner: the classifier builds the attention with the neck's options and splices it
    into the backbone; the neck holds none and pools the backbone output."""
    cfg = _cfg(
        neck=dict(type="IBAttention", bottleneck_dim=16, num_anchors=4), attention_at="layer4"
    )
    model = MODELS.build(cfg)
    assert model.attention_at == "layer4" and model.neck.attention is None
    assert (model.neck.in_channels, model.neck.pooled_channels) == (32, 64)  # inferred
    assert model.ib_attention is model.backbone.layer4.ib_attention.attn
    assert model.ib_attention.quantizer.num_anchors == 4  # the neck's options
    keys = model.state_dict()
    assert any(k.startswith("backbone.layer4.ib_attention.attn.") for k in keys)
    assert not any(k.startswith("neck.attention.") for k in keys)
    losses = model(torch.randn(2, 3, 32, 32), _samples(2), mode="loss")
    assert {k for k in losses if k.startswith("loss")} == {"loss_cls", "loss_kl", "loss_commit"}
    model.eval()
    predictions = model(torch.randn(2, 3, 32, 32), mode="predict")
    assert predictions[0].attention_map.shape == (8, 8)  # the input of layer4 on a 32x32 image


def test_attention_at_aliases_and_one_place_only() -> None:
    neck = dict(type="IBAttention", bottleneck_dim=16)
    via_neck = MODELS.build(_cfg(neck=dict(neck, attention_at="layer4")))
    via_stage = MODELS.build(_cfg(neck=neck, attention_stage="layer4"))
    assert via_neck.attention_at == via_stage.attention_at == "layer4"
    assert set(via_neck.state_dict()) == set(via_stage.state_dict())
    with pytest.raises(
        ValueError, match="more than once: attention_at='layer4', neck.attention_at"
    ):
        MODELS.build(_cfg(neck=dict(neck, attention_at="layer3"), attention_at="layer4"))
    with pytest.raises(ValueError, match="attention_at='layer4', attention_stage='layer4'"):
        MODELS.build(_cfg(neck=neck, attention_at="layer4", attention_stage="layer4"))
    with pytest.raises(TypeError, match="attention_stage must be a module path.*got 3"):
        MODELS.build(_cfg(neck=neck, attention_stage=3))


def test_probe_can_be_skipped_and_the_check_runs_at_forward() -> None:
    model = MODELS.build(_cfg(neck__in_channels=128, probe_size=None))
    with pytest.raises(ValueError, match="in_channels=128"):
        model(torch.randn(1, 3, 32, 32), mode="tensor")


def test_anchor_lr_multiplier_from_paramwise_cfg() -> None:
    from mmengine.optim import build_optim_wrapper

    model = MODELS.build(_cfg(neck__num_anchors=4, neck__learn_anchors=True))
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type="SGD", lr=0.1, momentum=0.9),
            paramwise_cfg=dict(custom_keys={".anchors": dict(lr_mult=1e-4)}),
        ),
    )
    anchors = model.neck.attention.quantizer.anchors
    lrs = {id(p): g["lr"] for g in wrapper.optimizer.param_groups for p in g["params"]}
    assert lrs[id(anchors)] == pytest.approx(1e-5)
    assert lrs[id(model.neck.bottleneck.fc.weight)] == pytest.approx(0.1)
