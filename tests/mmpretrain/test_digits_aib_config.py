"""The demo's AIB config: its faster attention BN and its area warm-up reach the real model."""

import operator

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import HOOKS, MODELS

from .mmp_helpers import CONFIGS, REPO

AIB_CONFIG = CONFIGS / "cluttered_digits" / "resnet18_aib_1xb32_cluttered-digits.py"
#: the studies' variants of the demo config
STUDY_CONFIGS = REPO / "projects" / "aib_studies" / "configs"


def test_attention_bn_learns_three_times_faster_and_nothing_else_does() -> None:
    cfg = Config.fromfile(str(AIB_CONFIG))
    model = MODELS.build(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    lr_of = {}
    for group in optim_wrapper.optimizer.param_groups:
        for param in group["params"]:
            lr_of[id(param)] = group["lr"]
    faster = {n for n, p in model.named_parameters() if lr_of[id(p)] != base_lr}
    # the attention sits at the input of layer4 (the paper's placement), owned by the backbone
    bn = "backbone.layer4.ib_attention.attn.head.bn."
    assert faster == {bn + "weight", bn + "bias"}
    assert lr_of[id(model.ib_attention.head.bn.weight)] == pytest.approx(3 * base_lr)


def test_the_attention_modulates_the_input_of_the_last_stage() -> None:
    """The recipe's placement: the 8x8 map layer4 reads (64 channels), the neck pooling
    layer4's output (128 channels)."""
    cfg = Config.fromfile(str(AIB_CONFIG))
    model = MODELS.build(cfg.model)
    assert model.attention_at == "layer4" and model.neck.pooled_channels == 128
    seen = []
    handle = model.backbone.layer4.register_forward_hook(lambda m, a, out: seen.append(a[0]))
    model.eval()
    with torch.no_grad():
        (features,) = model.extract_feat(torch.randn(2, 3, 64, 64))
    handle.remove()
    assert tuple(seen[0].shape) == (2, 64, 8, 8) and features.shape == (2, 64)
    attention_map = model.predict(torch.randn(1, 3, 64, 64))[0].attention_map
    assert tuple(attention_map.shape) == (8, 8)


def test_area_weight_warm_up_targets_the_necks_objective() -> None:
    """The hook runs for real in the demo's end-to-end test; here: it names the right thing."""
    cfg = Config.fromfile(str(AIB_CONFIG))
    (warmup,) = [h for h in cfg.custom_hooks if h["type"] == "WarmupParamHook"]
    assert HOOKS.build(warmup).warmup_epochs == 5 < cfg.train_cfg.max_epochs
    model = MODELS.build(cfg.model).train()
    objective = operator.attrgetter(warmup["module_name"])(model)
    assert cfg.model.neck.area_weight > 0
    assert getattr(objective, warmup["param_name"]) == pytest.approx(cfg.model.neck.area_weight)
    # at the warm-up's first step (weight 0) the term is simply absent from the loss
    objective.area_weight = 0.0
    assert model.extract_feat(torch.randn(2, 3, 64, 64)).ib_terms.area is None


def test_beta_warm_up_variant_warms_both_weights_of_the_objective() -> None:
    path = STUDY_CONFIGS / "cluttered_digits" / "resnet18_aib-beta-warmup_1xb32_cluttered-digits.py"
    cfg = Config.fromfile(str(path))
    warmups = [h for h in cfg.custom_hooks if h["type"] == "WarmupParamHook"]
    assert sorted(h["param_name"] for h in warmups) == ["area_weight", "beta"]
    model = MODELS.build(cfg.model)
    for hook in warmups:  # each names a real attribute of the neck's objective
        objective = operator.attrgetter(hook["module_name"])(model)
        assert getattr(objective, hook["param_name"]) > 0
    # the demo config's other hooks are kept
    assert "AttentionVisualizationHook" in {h["type"] for h in cfg.custom_hooks}


@pytest.mark.parametrize(
    "path",
    [
        STUDY_CONFIGS / "cluttered_digits" / "resnet18_aib-paper_1xb32_cluttered-digits.py",
        STUDY_CONFIGS / "cluttered_mnist" / "resnet18_aib-paper_1xb32_cluttered-mnist.py",
    ],
    ids=["digits", "mnist"],
)
def test_paper_objective_variants_drop_every_addition(path) -> None:
    """The paper's objective stays available on both datasets: no area price, no warm-up, one
    learning rate, a 3x3 last conv."""
    cfg = Config.fromfile(str(path))
    assert "WarmupParamHook" not in {h["type"] for h in cfg.custom_hooks}
    model = MODELS.build(cfg.model)
    assert model.neck.objective.area_weight == 0.0
    assert model.ib_attention.head.conv.kernel_size == (3, 3)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert {g["lr"] for g in optim_wrapper.optimizer.param_groups} == {
        cfg.optim_wrapper.optimizer.lr
    }
    model.train()
    terms = model.extract_feat(torch.randn(2, 3, 60, 60)).ib_terms
    assert terms.area is None and terms.kl is not None
