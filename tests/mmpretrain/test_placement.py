"""``IBAttention(attention_at=...)``: the attention at a backbone module's input (the paper)."""

from __future__ import annotations

import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

BACKBONE = dict(type="ResNet_CIFAR", depth=18, stem_channels=8, base_channels=8, out_indices=(3,))


def _model(**neck):
    return MODELS.build(
        dict(
            type="IBImageClassifier",
            backbone=BACKBONE,
            neck=dict(type="IBAttention", attention_at="layer4", bottleneck_dim=16, **neck),
            head=dict(type="LinearClsHead", num_classes=10, in_channels=16),
        )
    )


def _samples(n: int) -> list[DataSample]:
    return [DataSample().set_gt_label(i % 10) for i in range(n)]


def test_the_attention_moves_into_the_backbone_and_keeps_its_keys() -> None:
    model = _model(num_anchors=5)
    assert (model.neck.in_channels, model.neck.pooled_channels) == (32, 64)  # inferred
    keys = set(model.state_dict())
    assert "backbone.layer4.ib_attention.attn.head.reduce.weight" in keys
    assert not any(k.startswith("neck.attention") for k in keys)  # one copy only
    # the backbone's own keys did not move: a plain ResNet_CIFAR checkpoint loads strictly
    plain = MODELS.build(BACKBONE)
    missing, unexpected = model.backbone.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(".ib_attention." in k for k in missing)


def test_the_attention_modulates_the_last_stage_input_and_reaches_the_loss() -> None:
    torch.manual_seed(0)
    model = _model(num_anchors=5)
    x = torch.randn(2, 3, 32, 32)
    losses = model(x, _samples(2), mode="loss")
    assert {k for k in losses if k.startswith("loss")} == {"loss_cls", "loss_kl", "loss_commit"}
    losses["loss_cls"].backward()
    head = model.ib_attention.head
    assert head.reduce.weight.grad is not None and head.reduce.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        before = model(x, mode="tensor")
        model.ib_attention.head.bn.bias.fill_(5.0)  # a brighter map: another modulation
        after = model(x, mode="tensor")
        preds = model(x, mode="predict")
    assert not torch.allclose(before, after)
    assert preds[0].attention_map.shape == (8, 8)  # layer4's input at 32 x 32


def test_monte_carlo_samples_through_the_backbone_average_to_the_batch() -> None:
    model = _model(mc_samples=3).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(2, 3, 32, 32))
    assert feats[0].shape == (2, 16) and feats.attention_map.shape == (2, 1, 8, 8)


def test_bad_placements_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"attention_at='layer9' is not a module.*layer4"):
        MODELS.build(
            dict(
                type="IBImageClassifier",
                backbone=BACKBONE,
                neck=dict(type="IBAttention", attention_at="layer9", bottleneck_dim=16),
                head=dict(type="LinearClsHead", num_classes=10, in_channels=16),
            )
        )
    model = _model()
    with pytest.raises(RuntimeError, match="needs the output of the attention"):
        model.neck(model.backbone(torch.randn(1, 3, 32, 32)))


def test_the_weights_are_drawn_backbone_attention_bottleneck_as_when_the_neck_held_it() -> None:
    from aib_plugin.mmpretrain.neck import IBAttention, attention_from_config

    torch.manual_seed(0)
    model = _model(num_anchors=5)
    torch.manual_seed(0)
    MODELS.build(BACKBONE)
    neck = dict(in_channels=32, pooled_channels=64, bottleneck_dim=16, num_anchors=5)
    attention = attention_from_config(neck)
    bottleneck = IBAttention(with_attention=False, **neck).bottleneck
    for got, expected in ((model.ib_attention, attention), (model.neck.bottleneck, bottleneck)):
        got, expected = got.state_dict(), expected.state_dict()
        assert list(got) == list(expected)
        assert all(torch.equal(got[k], expected[k]) for k in got)


def test_attention_from_config_names_an_unknown_option() -> None:
    from aib_plugin.mmpretrain.neck import attention_from_config

    with pytest.raises(TypeError, match="unknown options \\['num_anchor'\\]"):
        attention_from_config(dict(type="IBAttention", in_channels=8, num_anchor=5))
    with pytest.raises(TypeError, match="in_channels"):
        attention_from_config(dict(type="IBAttention"))
