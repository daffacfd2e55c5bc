"""Bad input, tried systematically: property-based tests over the layer arguments and input
shapes (valid ones work with the right shapes; invalid ones raise ValueError / TypeError naming
the argument), and a list of broken model configs that must fail with a clear error."""

from __future__ import annotations

import math
from typing import Any

import pytest
import timm
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aib_plugin  # noqa: F401  (registers the *_aib models)
from aib_plugin.layers import (
    AnchorQuantizer,
    IBObjective,
    IBSpatialAttention,
    VariationalBottleneck,
)

#: Small, derandomized runs: the same examples in every CI run, a few seconds in all.
FAST = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Values that are not a positive int, each with the error type it must raise.
NOT_POSITIVE_INT = st.sampled_from(
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("8", TypeError), (True, TypeError)]
    + [(None, TypeError), ([4], TypeError)]
)
NOT_NON_NEGATIVE = st.sampled_from(
    [(-0.1, ValueError), (-5, ValueError), (math.nan, ValueError), (math.inf, ValueError)]
    + [("0.1", TypeError), (None, TypeError), (True, TypeError), ([0.1], TypeError)]
)


# --- valid arguments and shapes -------------------------------------------------------------


@FAST
@given(
    chs=st.integers(1, 24),
    num_anchors=st.one_of(st.none(), st.integers(2, 40)),
    mc_samples=st.integers(1, 3),
    batch=st.integers(1, 3),
    height=st.integers(1, 7),
    width=st.integers(1, 7),
    training=st.booleans(),
)
def test_attention_valid_args_give_the_right_shapes(
    chs, num_anchors, mc_samples, batch, height, width, training
) -> None:
    if training and batch * height * width == 1:
        training = False  # BatchNorm needs more than one value per channel to train
    layer = IBSpatialAttention(chs, num_anchors=num_anchors, mc_samples=mc_samples)
    layer.train(training)
    out = layer(torch.randn(batch, chs, height, width))
    samples = 1 if training else mc_samples
    assert out.modulated.shape == (samples * batch, chs, height, width)
    assert out.attention_mean.shape == (batch, 1, height, width)
    assert out.attention.shape == (samples * batch, 1, height, width)
    assert ((out.attention_mean >= 0) & (out.attention_mean <= 1)).all()
    if num_anchors is None:
        assert out.codebook_loss is None and out.anchor_indices is None
    else:
        assert out.anchor_indices.shape == out.attention.shape
        assert int(out.anchor_indices.max()) < num_anchors
        anchors = layer.quantizer.anchors.detach()
        distance = (out.attention.detach().unsqueeze(-1) - anchors).abs().amin(dim=-1)
        assert distance.max() < 1e-6  # every value is (straight-through) an anchor


@FAST
@given(
    num_anchors=st.integers(2, 60),
    low=st.floats(-2, 1, allow_nan=False),
    width=st.floats(0.01, 3),
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=4),
)
def test_quantizer_valid_args_any_input_shape(num_anchors, low, width, shape) -> None:
    quantizer = AnchorQuantizer(num_anchors, init_range=(low, low + width))
    x = torch.rand(shape) if shape else torch.rand(())
    out = quantizer(x)
    assert out.quantized.shape == x.shape and out.indices.shape == x.shape
    anchors = quantizer.anchors.detach()[out.indices]  # straight-through: x + (anchor - x)
    torch.testing.assert_close(out.quantized, anchors, atol=1e-6, rtol=0)
    assert out.codebook_loss.dim() == 0 and torch.isfinite(out.codebook_loss)


@FAST
@given(
    in_features=st.integers(1, 40),
    bottleneck_dim=st.integers(1, 40),
    kl=st.sampled_from(["paper", "vib"]),
    mc_samples=st.integers(1, 3),
    batch=st.integers(1, 4),
    training=st.booleans(),
)
def test_bottleneck_valid_args_give_the_right_shapes(
    in_features, bottleneck_dim, kl, mc_samples, batch, training
) -> None:
    layer = VariationalBottleneck(in_features, bottleneck_dim, kl=kl, mc_samples=mc_samples)
    layer.train(training)
    out = layer(torch.randn(batch, in_features))
    samples = 1 if training else mc_samples
    assert out.z.shape == (samples * batch, bottleneck_dim)
    assert out.mu.shape == out.sigma.shape == (batch, bottleneck_dim)
    assert out.kl_bits.dim() == 0 and torch.isfinite(out.kl_bits)
    assert (out.sigma >= 0).all()


@FAST
@given(
    beta=st.floats(0, 10),
    codebook=st.floats(0, 10),
    commitment=st.floats(0, 10),
    anchors=st.booleans(),
)
def test_objective_valid_weights(beta, codebook, commitment, anchors) -> None:
    objective = IBObjective(beta, codebook, commitment)
    attention = IBSpatialAttention(4, num_anchors=4 if anchors else None, learn_anchors=True)
    attention.train()
    att = attention(torch.randn(2, 4, 3, 3))
    code = VariationalBottleneck(4, 3).train()(att.modulated.mean(dim=(2, 3)))
    terms = objective(code, att)
    assert torch.allclose(terms.kl, beta * terms.kl_bits)
    assert set(terms.losses()) == (
        {"loss_kl", "loss_vq", "loss_commit"} if anchors else {"loss_kl"}
    )
    assert torch.isfinite(terms.total())


# --- invalid arguments ------------------------------------------------------------------------


@FAST
@given(
    arg=st.sampled_from(["in_chs", "num_anchors", "mc_samples"]),
    bad=NOT_POSITIVE_INT,
)
def test_attention_invalid_args_name_the_argument(arg, bad) -> None:
    value, error = bad
    kwargs: dict[str, Any] = {"in_chs": 8, arg: value}
    if arg == "num_anchors":
        if value is None:
            return  # None is valid: no quantization
        if value == 0 or value == -3:
            error = ValueError
    with pytest.raises(error, match=arg):
        IBSpatialAttention(**kwargs)


@FAST
@given(bad=NOT_POSITIVE_INT, arg=st.sampled_from(["in_features", "bottleneck_dim", "mc_samples"]))
def test_bottleneck_invalid_args_name_the_argument(arg, bad) -> None:
    value, error = bad
    kwargs: dict[str, Any] = {"in_features": 8, arg: value}
    with pytest.raises(error, match=arg):
        VariationalBottleneck(**kwargs)


@pytest.mark.parametrize("kl", ["bogus", "", None, "VIB", 1])
def test_bottleneck_unknown_kl(kl) -> None:
    with pytest.raises(ValueError, match="kl must be one of"):
        VariationalBottleneck(8, kl=kl)


@FAST
@given(arg=st.sampled_from(["beta", "codebook_weight", "commitment_weight"]), bad=NOT_NON_NEGATIVE)
def test_objective_invalid_weights_name_the_argument(arg, bad) -> None:
    value, error = bad
    with pytest.raises(error, match=arg):
        IBObjective(**{arg: value})


@FAST
@given(
    arg=st.sampled_from(["num_anchors", "anchor_lr_ratio", "init_range"]),
    bad=st.sampled_from(
        [(1, ValueError), (0, ValueError), (-1, ValueError), (2.0, TypeError), ("x", TypeError)]
    ),
)
def test_quantizer_invalid_args_name_the_argument(arg, bad) -> None:
    value, error = bad
    if arg == "anchor_lr_ratio":
        if isinstance(value, (int, float)) and value >= 0:
            return  # a valid ratio
        error = ValueError if isinstance(value, (int, float)) else TypeError
    if arg == "init_range":
        error = TypeError  # a scalar, not a pair
    with pytest.raises(error, match=arg):
        AnchorQuantizer(**{arg: value})


@pytest.mark.parametrize(
    "init_range, error",
    [
        ((1.0, 0.0), ValueError),
        ((0.5, 0.5), ValueError),
        ((0.0, math.nan), ValueError),
        ((0.0,), TypeError),
        ((0.0, 1.0, 2.0), TypeError),
        (None, TypeError),
        ("ab", TypeError),
        (("0", "1"), TypeError),
    ],
)
def test_quantizer_bad_init_range(init_range, error) -> None:
    with pytest.raises(error, match="init_range"):
        AnchorQuantizer(4, init_range=init_range)


# --- invalid inputs -----------------------------------------------------------------------------


@FAST
@given(
    rank=st.sampled_from([1, 2, 3, 5]),
    chs=st.integers(1, 6),
    wrong=st.integers(1, 6),
)
def test_attention_wrong_rank_or_channels(rank, chs, wrong) -> None:
    layer = IBSpatialAttention(chs).eval()
    with pytest.raises(ValueError, match=r"4-D feature map"):
        layer(torch.randn([2] * (rank - 1) + [chs]))
    if wrong != chs:
        with pytest.raises(ValueError, match=rf"in_chs={chs} channels, got .* {wrong} channels"):
            layer(torch.randn(2, wrong, 3, 3))


@FAST
@given(in_features=st.integers(1, 8), wrong=st.integers(1, 8), rank=st.sampled_from([1, 3]))
def test_bottleneck_wrong_input_shape(in_features, wrong, rank) -> None:
    layer = VariationalBottleneck(in_features, 4)
    with pytest.raises(ValueError, match=rf"\(B, {in_features}\)"):
        layer(torch.randn([2] * (rank - 1) + [in_features]))
    if wrong != in_features:
        with pytest.raises(ValueError, match=rf"\(B, {in_features}\)"):
            layer(torch.randn(3, wrong))


@pytest.mark.parametrize(
    "x", [[1.0, 2.0], None, torch.tensor([1, 2]), torch.ones(2, dtype=torch.bool)]
)
def test_non_float_inputs_are_type_errors(x) -> None:
    with pytest.raises(TypeError, match="AnchorQuantizer"):
        AnchorQuantizer(4)(x)
    if not isinstance(x, torch.Tensor):
        with pytest.raises(TypeError, match="IBSpatialAttention"):
            IBSpatialAttention(4)(x)
        with pytest.raises(TypeError, match="VariationalBottleneck"):
            VariationalBottleneck(4)(x)


def test_objective_refuses_other_outputs() -> None:
    code = VariationalBottleneck(4, 3)(torch.randn(2, 4))
    with pytest.raises(TypeError, match="bottleneck"):
        IBObjective()(None)
    with pytest.raises(TypeError, match="bottleneck"):
        IBObjective()({"kl_bits": torch.zeros(())})
    with pytest.raises(TypeError, match="attention"):
        IBObjective()(code, torch.zeros(2))


# --- broken configs -----------------------------------------------------------------------------

#: timm ``create_model('resnet18_aib', **kwargs)``: (kwargs, error type, text the message has).
BROKEN_TIMM_KWARGS = [
    (dict(attention_stage=9), ValueError, "attention_stage=9 is out of range"),
    (dict(attention_stage="layer9"), ValueError, "attention_stage='layer9' is not a module"),
    (dict(attention_stage=1.5), TypeError, "attention_stage must be"),
    (dict(head="heavy"), ValueError, "head must be one of"),
    (dict(num_anchors=1), ValueError, "num_anchors must be an int >= 2"),
    (dict(num_anchors=2.5), TypeError, "num_anchors"),
    (dict(bottleneck_dim=0), ValueError, "bottleneck_dim must be an int >= 1"),
    (dict(kl="bogus"), ValueError, "kl must be one of"),
    (dict(beta=-0.01), ValueError, "beta must be a finite non-negative number"),
    (dict(codebook_weight="0.4"), TypeError, "codebook_weight"),
    (dict(commitment_weight=math.inf), ValueError, "commitment_weight"),
    (dict(mc_samples=0), ValueError, "mc_samples must be an int >= 1"),
    (dict(mc_samples="4"), TypeError, "mc_samples must be an int or"),
    (dict(in_chans=0), ValueError, "in_chans must be an int >= 1"),
    (dict(num_classes=-1), ValueError, "num_classes must be an int >= 0"),
    (dict(global_pool=""), ValueError, "global_pool=''"),
]


@pytest.mark.parametrize("kwargs, error, text", BROKEN_TIMM_KWARGS, ids=lambda v: str(v)[:40])
def test_broken_timm_kwargs(kwargs, error, text) -> None:
    with pytest.raises(error, match=_literal(text)):
        timm.create_model("resnet18_aib", num_classes=kwargs.pop("num_classes", 4), **kwargs)


def test_unknown_architectures() -> None:
    with pytest.raises(ValueError, match="unknown timm architecture 'not_a_net'"):
        aib_plugin.create_aib_model("not_a_net")
    with pytest.raises(RuntimeError, match="not_a_net_aib"):
        timm.create_model("not_a_net_aib")
    with pytest.raises(TypeError, match="base_arch must be"):
        aib_plugin.register_aib_model(18)


def _mmp_model(**changes: Any) -> dict:
    neck_changes = changes.pop("neck", {})
    neck = {} if neck_changes is None else dict(type="IBAttention", in_channels=512)
    neck.update(dict(bottleneck_dim=16) if neck else {}, **(neck_changes or {}))
    head = dict(type="LinearClsHead", num_classes=10, in_channels=16)
    head.update(changes.pop("head", {}))
    model = dict(
        type="IBImageClassifier",
        backbone=dict(type="ResNet_CIFAR", depth=18, out_indices=(3,)),
        neck=neck,
        head=head,
    )
    model.update(changes)
    if model["neck"] == {}:
        del model["neck"]
    return model


#: MMPretrain model dicts: (config, error type, text the message has).
BROKEN_MMP_CONFIGS = [
    (_mmp_model(neck=dict(in_channels=256)), ValueError, "in_channels=256"),
    (_mmp_model(neck=dict(in_channels=0)), ValueError, "in_channels must be an int >= 1"),
    (_mmp_model(neck=dict(in_channels="512")), TypeError, "in_channels"),
    (_mmp_model(neck=dict(stage_index=3)), IndexError, "stage_index=3 is out of range"),
    (_mmp_model(neck=dict(stage_index="last")), TypeError, "stage_index must be an int"),
    (_mmp_model(neck=dict(num_anchors=1)), ValueError, "num_anchors must be an int >= 2, got 1"),
    (_mmp_model(neck=dict(beta=-0.1)), ValueError, "beta must be a finite non-negative"),
    (_mmp_model(neck=dict(kl="kl")), ValueError, "kl must be one of"),
    (_mmp_model(neck=dict(bottleneck_dim=0)), ValueError, "bottleneck_dim must be an int >= 1"),
    (_mmp_model(neck=dict(mc_samples=0)), ValueError, "mc_samples must be an int >= 1"),
    (_mmp_model(neck=dict(mc_samples=(1, 2, 3))), TypeError, "mc_samples must be an int or a pair"),
    (_mmp_model(neck=dict(hidden_channels=0)), ValueError, "hidden_chs must be an int >= 1"),
    (_mmp_model(neck=dict(data_format="CHW")), ValueError, "data_format must be one of"),
    (_mmp_model(neck=dict(codebook_weight="0.4")), TypeError, "codebook_weight"),
    (
        {**_mmp_model(), "neck": dict(type="GlobalAveragePooling")},
        TypeError,
        "needs neck type 'IBAttention'",
    ),
    (_mmp_model(head=dict(in_channels=512)), ValueError, "set the head's in_channels=16"),
    (_mmp_model(neck=None), ValueError, "IBImageClassifier needs an IB neck"),
    (
        dict(type="IBTimmClassifier", model_name="resnet18", num_classes=10),
        TypeError,
        "IBTimmClassifier needs a timm '*_aib' model",
    ),
    (
        dict(type="IBTimmClassifier", model_name="resnet18_aib", num_classes=10, kl="bogus"),
        ValueError,
        "kl must be one of",
    ),
]


@pytest.mark.parametrize("cfg, error, text", BROKEN_MMP_CONFIGS, ids=lambda v: str(v)[:60])
def test_broken_mmpretrain_configs(cfg, error, text) -> None:
    from mmpretrain.registry import MODELS

    import aib_plugin.mmpretrain  # noqa: F401  (registers the components)

    with pytest.raises(error, match=_literal(text)):
        MODELS.build(cfg)


def _literal(text: str) -> str:
    import re

    return re.escape(text)
