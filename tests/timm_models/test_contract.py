"""What timm's tests/test_models.py checks, for every registered ``*_aib*`` model.

forward / backward / default cfg / forward_intermediates / attention-reaches-logits run on every
model at SIZE x SIZE, each on a deep copy of one model built per name (building dominates the
time on a 2-core CPU). features_only builds through ``create_model`` for every ``_aib`` model
(the ``_qt`` backbones are the same). torchscript and fx, the slow ones, run on one model per
way the attention is spliced in (FAMILY_SUBSET), quantized and not.
"""

from __future__ import annotations

import copy
import math
from typing import Optional

import pytest
import timm
import torch
from timm.models import get_notrace_functions, get_notrace_modules

from aib_plugin.layers import cross_entropy_bits

from .conftest import AIB_MODELS, SIZE, create, images

#: One model per way the attention is spliced in: a Sequential stage (ResNet family), a wrapped
#: conv stage (ConvNeXt), a Sequential of inverted-residual blocks (EfficientNet), a token block
#: (ViT), a plain pooling module (VGG) and a RegStage (RegNet).
FAMILY_SUBSET = [
    f"{arch}_aib{qt}"
    for arch in ("resnet18", "convnext_tiny", "efficientnet_b0", "vit_small_patch16_224")
    for qt in ("", "_qt")
] + ["vgg16_bn_aib", "regnety_008_aib"]

NON_STD = ("vit_",)  # timm checks token models with its non-std cfg test


def test_registry_lists_all_required_models() -> None:
    required = [
        "resnet18", "resnet34", "resnet50", "resnet101", "wide_resnet50_2", "resnext50_32x4d",
        "seresnet50", "regnety_008", "convnext_tiny", "efficientnet_b0", "mobilenetv3_large_100",
        "vgg16_bn", "vit_small_patch16_224",
    ]  # fmt: skip
    for arch in required:
        assert f"{arch}_aib" in AIB_MODELS and f"{arch}_aib_qt" in AIB_MODELS
    assert set(FAMILY_SUBSET) <= set(AIB_MODELS)


@pytest.fixture(scope="module", params=AIB_MODELS)
def built(request: pytest.FixtureRequest) -> tuple[str, torch.nn.Module]:
    """One model per name, with default kwargs; tests use :func:`fresh` copies of it."""
    return request.param, create(request.param)


def fresh(built: tuple[str, torch.nn.Module], num_classes: Optional[int] = None):
    name, model = built
    model = copy.deepcopy(model)
    if num_classes is not None:
        model.reset_classifier(num_classes)
    return name, model


def test_forward(built) -> None:
    name, model = fresh(built, num_classes=7)
    model.eval()
    x = images()
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()
    try:
        model.set_grad_checkpointing()
    except Exception:  # timm's test tolerates bases without checkpointing
        return
    with torch.no_grad():
        out2 = model(x)
    assert torch.allclose(out, out2, rtol=1e-4, atol=1e-5)


def test_backward(built) -> None:
    """Every parameter gets a gradient from ``output.mean().backward()`` (timm's contract)."""
    name, model = fresh(built, num_classes=42)
    model.train()
    out = model(images())
    assert out.shape == (2, 42) and torch.isfinite(out).all()
    out.mean().backward()
    missing = {n for n, p in model.named_parameters() if p.grad is None}
    assert not missing, f"no gradient for {sorted(missing)}"
    # the _qt models keep their anchors frozen (a buffer), as the authors' CUB code
    frozen = {n for n, _ in model.named_buffers() if n.endswith("quantizer.anchors")}
    assert (len(frozen) == 1) == name.endswith("_qt")

    # the documented training path reaches every parameter
    model.zero_grad(set_to_none=True)
    out = model(images())
    loss = cross_entropy_bits(out, torch.tensor([1, 2])) + model.ib_loss().total()
    loss.backward()
    for n, p in model.named_parameters():
        assert p.grad is not None, f"no gradient for {n}"
        assert torch.isfinite(p.grad).all(), n


def test_learnable_anchors_learn_from_the_codebook_loss_only() -> None:
    """``learn_anchors=True`` (the authors' CIFAR code): the one parameter the output leaves."""
    model = create("resnet18_aib_qt", num_classes=3, learn_anchors=True).train()
    model(images()).mean().backward()
    missing = {n for n, p in model.named_parameters() if p.grad is None}
    assert missing == {"backbone.layer4.ib_attention.attn.quantizer.anchors"}
    model.zero_grad(set_to_none=True)
    model(images())
    terms = model.ib_loss()
    assert set(terms.losses()) == {"loss_kl", "loss_vq", "loss_commit"}
    terms.total().backward()
    anchors = model.ib_attention.quantizer.anchors
    assert anchors.grad is not None and anchors.grad.abs().sum() > 0


def test_default_cfg(built) -> None:
    name, model = fresh(built)
    model.eval()
    cfg = model.pretrained_cfg
    state_dict = model.state_dict()
    assert model.num_classes == cfg["num_classes"] > 0
    assert model.num_features > 0 and model.head_hidden_size == model.bottleneck_dim > 0
    x = images(batch=1)
    with torch.no_grad():
        feats = model.forward_features(x)
        pre = model.forward_head(feats, pre_logits=True)
    chan_axis = -1 if getattr(model, "output_fmt", "NCHW") == "NHWC" or feats.dim() == 3 else 1
    assert feats.shape[chan_axis] == model.num_features
    # unpooled at the last stage's reduction (timm: pool_size at the default input size)
    side = SIZE // model.feature_info[-1]["reduction"]
    spatial = feats.shape[1] - getattr(model.backbone, "num_prefix_tokens", 0)
    if feats.dim() == 3:
        assert spatial == side * side
    else:
        assert tuple(feats.shape[1:3] if chan_axis == -1 else feats.shape[2:]) == (side, side)
    assert pre.shape == (1, model.head_hidden_size)

    model.reset_classifier(0)
    assert model.num_classes == 0
    with torch.no_grad():
        out = model(x)
    assert out.shape == pre.shape
    assert torch.allclose(out, pre, atol=1e-6), "num_classes=0 must return z (its mean in eval)"

    if not name.startswith(NON_STD):
        model.reset_classifier(0, "")
        with torch.no_grad():
            assert model(x).shape == feats.shape
    else:  # timm's non-std check: a num_classes=0 model returns num_features values
        assert out.shape[-1] == model.num_features

    assert cfg["classifier"] + ".weight" in state_dict
    first = cfg["first_conv"]
    for conv in (first,) if isinstance(first, str) else first:
        assert conv + ".weight" in state_dict


@pytest.mark.parametrize("name", [n for n in FAMILY_SUBSET if not n.startswith(NON_STD)])
def test_create_unpooled(name: str) -> None:
    """``create_model(num_classes=0, global_pool='')`` gives the unpooled feature map."""
    model = create(name, num_classes=0, global_pool="").eval()
    x = images(batch=1)
    with torch.no_grad():
        assert model(x).shape == model.forward_features(x).shape
        assert model(x).dim() == 4


def test_pool_size_at_default_input_size() -> None:
    model = timm.create_model("resnet18_aib").eval()
    cfg = model.pretrained_cfg
    with torch.no_grad():
        feats = model.forward_features(torch.randn(1, *cfg["input_size"]))
    assert tuple(feats.shape[-2:]) == tuple(cfg["pool_size"])


@pytest.mark.parametrize(
    "name", [n for n in AIB_MODELS if n.endswith("_aib") and not n.startswith(NON_STD)]
)
def test_features_only(name: str) -> None:
    model = create(name, features_only=True).eval()
    channels = model.feature_info.channels()
    reductions = model.feature_info.reduction()
    assert len(channels) >= 3
    with torch.no_grad():
        outs = model(images(batch=1))
    assert len(outs) == len(channels)
    for c, r, o in zip(channels, reductions, outs, strict=True):
        assert o.shape[1] == c
        assert o.shape[-2] <= math.ceil(SIZE / r) + 1 and o.shape[-1] <= math.ceil(SIZE / r) + 1
        assert torch.isfinite(o).all()


def test_forward_intermediates(built) -> None:
    _, model = fresh(built)
    model.eval()
    info = timm.models.FeatureInfo(model.feature_info, len(model.feature_info))
    x = images(batch=1)
    with torch.no_grad():
        final, inter = model.forward_intermediates(x, output_fmt="NCHW")
        assert torch.allclose(final, model.forward_features(x))
    assert len(inter) == len(info.channels()) >= 3
    for c, r, o in zip(info.channels(), info.reduction(), inter, strict=True):
        assert o.shape[1] == c and o.shape[-1] <= math.ceil(SIZE / r) + 1


def test_attention_changes_logits(built) -> None:
    """The attention acts on the feature grid and the logits see it (not e.g. a pooled token).

    Training mode with a fixed seed: randomly initialised nets fade out in eval mode, and both
    passes draw the same noise, so only the attention differs.
    """
    _, model = fresh(built, num_classes=5)
    model.train()
    x = images()
    with torch.no_grad():
        torch.manual_seed(1)
        before = model(x)
        model.ib_attention.head.bn.bias.fill_(-20.0)  # attention ~ 0 everywhere: R = X
        torch.manual_seed(1)
        after = model(x)
    change = (after - before).abs().max() / before.abs().max()
    assert change > 1e-3, f"attention barely reaches the logits (relative change {change:.2e})"


def _fx_model(model: torch.nn.Module, train: bool) -> torch.nn.Module:
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    tracer_kwargs = dict(
        leaf_modules=get_notrace_modules(),
        autowrap_functions=get_notrace_functions(),
        param_shapes_constant=True,
    )
    train_nodes, eval_nodes = get_graph_node_names(model, tracer_kwargs=tracer_kwargs)
    return create_feature_extractor(
        model,
        train_return_nodes=[train_nodes[-1]],
        eval_return_nodes=[eval_nodes[-1]],
        tracer_kwargs=tracer_kwargs,
    )


@pytest.mark.parametrize("name", FAMILY_SUBSET)
def test_fx_forward_and_backward(name: str) -> None:
    pytest.importorskip("torchvision")
    model = create(name).eval()
    x = images(batch=1)
    with torch.inference_mode():
        out = model(x)
        fx_out = torch.cat(tuple(_fx_model(model, train=False)(x).values()))
    assert torch.equal(fx_out, out)

    model = create(name, num_classes=42).train()
    fx_model = _fx_model(model, train=True)
    out = torch.cat(tuple(fx_model(images()).values()))
    assert out.shape == (2, 42)
    out.mean().backward()
    missing = {n for n, p in fx_model.named_parameters() if p.grad is None}
    assert not missing, sorted(missing)


@pytest.mark.parametrize("name", FAMILY_SUBSET)
def test_torchscript(name: str) -> None:
    with timm.set_scriptable(True):
        model = create(name).eval()
    scripted = torch.jit.script(model)
    x = images(batch=1)
    with torch.no_grad():
        out = scripted(x)
        assert torch.allclose(out, model(x), atol=1e-5)
    assert out.shape == (1, model.num_classes) and torch.isfinite(out).all()
