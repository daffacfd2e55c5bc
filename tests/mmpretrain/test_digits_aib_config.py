"""The demo's AIB config: its faster attention BN and its area warm-up reach the real model."""

import operator

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import HOOKS, MODELS

from .mmp_helpers import CONFIGS

AIB_CONFIG = CONFIGS / "cluttered_digits" / "resnet18_aib_1xb32_cluttered-digits.py"


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
    assert faster == {"neck.attention.head.bn.weight", "neck.attention.head.bn.bias"}
    assert lr_of[id(model.neck.attention.head.bn.weight)] == pytest.approx(3 * base_lr)


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
    assert model.neck(model.backbone(torch.randn(2, 3, 64, 64))).ib_terms.area is None


def test_beta_warm_up_variant_warms_both_weights_of_the_objective() -> None:
    path = (
        CONFIGS
        / "cluttered_digits"
        / "variants"
        / "resnet18_aib-beta-warmup_1xb32_cluttered-digits.py"
    )
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
        CONFIGS / "cluttered_digits" / "variants" / "resnet18_aib-paper_1xb32_cluttered-digits.py",
        CONFIGS / "cluttered_mnist" / "variants" / "resnet18_aib-paper_1xb32_cluttered-mnist.py",
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
    assert model.neck.attention.head.conv.kernel_size == (3, 3)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert {g["lr"] for g in optim_wrapper.optimizer.param_groups} == {
        cfg.optim_wrapper.optimizer.lr
    }
    model.train()
    terms = model.neck(model.backbone(torch.randn(2, 3, 60, 60))).ib_terms
    assert terms.area is None and terms.kl is not None
