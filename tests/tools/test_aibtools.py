"""tools/aibtools: the helpers the tools share (last stage, tables, mean ± std, targets)."""

import operator
from pathlib import Path

import numpy as np
import pytest
import timm
import torch

from aib_plugin import create_aib_model
from aib_plugin.evaluation import grad_cam_maps
from aibtools.maps import cam_target, ink_map, last_stage, map_correlation, token_layout
from aibtools.runs import set_run
from aibtools.tables import markdown_table, mean_std
from aibtools.targets import Target, check

REPO = Path(__file__).resolve().parents[2]


def test_last_stage_of_mmpretrain_timm_and_bare_models():
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import aib_plugin.mmpretrain  # noqa: F401

    init_default_scope("mmpretrain")
    backbone = dict(type="ResNet_CIFAR", depth=18, base_channels=8, out_indices=(3,))
    head = dict(type="LinearClsHead", num_classes=3, in_channels=64)
    mm = MODELS.build(dict(type="ImageClassifier", backbone=backbone, head=head))
    assert last_stage(mm) is mm.backbone.layer4
    wrapped = MODELS.build(dict(type="TimmClassifier", model_name="resnet18", num_classes=3))
    assert last_stage(wrapped) is wrapped.model.layer4
    bare = timm.create_model("resnet18", num_classes=3)
    assert last_stage(bare) is bare.layer4
    aib = create_aib_model("resnet18", num_classes=3)
    assert last_stage(aib) is aib.backbone.layer4
    assert last_stage(torch.nn.Linear(2, 2)) is None


def test_ink_map_averages_the_image_over_the_cells_of_the_grid():
    image = np.zeros((8, 8))
    image[:4, 4:] = 1.0  # the top-right quarter inked
    image[4, 0] = 4.0  # one pixel of a 4x4 cell at four times the ink
    assert ink_map(image, (2, 2)).tolist() == [[0.0, 1.0], [0.25, 0.0]]
    assert ink_map(image, (1, 1)).tolist() == [[(16 + 4) / 64]]
    with pytest.raises(ValueError, match=r"image must be 2-D \(H, W\), got shape \(1, 8, 8\)"):
        ink_map(image[None], (2, 2))
    with pytest.raises(ValueError, match=r"grid must be \(rows >= 1, cols >= 1\), got \(0, 2\)"):
        ink_map(image, (0, 2))


def test_map_correlation_is_pearson_over_pixels():
    ramp = np.arange(16.0).reshape(4, 4)
    assert map_correlation(ramp, 3 * ramp + 1) == pytest.approx(1.0)
    assert map_correlation(ramp, -ramp) == pytest.approx(-1.0)
    assert map_correlation(ramp, np.ones((4, 4))) == 0.0  # a constant map follows nothing
    with pytest.raises(ValueError, match=r"shapes differ, \(4, 4\) and \(2, 8\)"):
        map_correlation(ramp, ramp.reshape(2, 8))


def test_mean_std_is_the_sample_standard_deviation():
    assert mean_std([90.0, 92.0]) == (91.0, pytest.approx(2**0.5))
    assert mean_std([3.0]) == (3.0, 0.0)  # one seed: no spread


def test_markdown_table():
    assert markdown_table(["a", "b"], [["1", "2"], ["3", ""]]) == (
        "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 |  |"
    )


def test_check_pairs_seeds_and_judges_the_means():
    target = Target("top1", "top-1 >= plain's", operator.ge)
    pairs = [({"top1": 90.0}, {"top1": 90.0}), ({"top1": 92.0}, {"top1": 94.0})]
    result = check(target, pairs)
    assert (result["met"], result["seeds"], result["met_on_means"]) == (1, 2, False)
    assert result["value"] == 91.0 and result["reference_value"] == 92.0
    assert result["difference"] == -1.0 and result["difference_se"] == pytest.approx(1.0)
    assert check(target, pairs[:1])["difference_se"] is None


def test_set_run_sets_seed_epochs_and_end_of_training_validation():
    from mmengine.config import Config

    path = REPO / "configs/cluttered_mnist/resnet18_aib_1xb32_cluttered-mnist.py"
    cfg = set_run(Config.fromfile(str(path)), "work", 5, 3)
    assert cfg.work_dir == "work" and cfg.randomness == dict(seed=5, deterministic=False)
    assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval) == (3, 3)
    (overlays,) = [h for h in cfg.custom_hooks if h["type"] == "AttentionVisualizationHook"]
    assert overlays["interval"] == 3
    cfg = set_run(Config.fromfile(str(path)), "work", 0)  # epochs: the config's
    assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval) == (10, 10)


def test_grad_cam_of_a_token_backbone_through_cam_target():
    vit = timm.create_model(
        "vit_tiny_patch16_224", img_size=32, patch_size=8, global_pool="avg", num_classes=3
    ).eval()
    layer = last_stage(vit)
    assert layer is vit.blocks[-1] and token_layout(vit) == (1, (4, 4))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = vit(x)
    with cam_target(vit, layer) as target:
        assert target is not layer
        with torch.no_grad():
            torch.testing.assert_close(vit(x), before)  # the routing hook changes no value
        maps = grad_cam_maps(vit, target, x)
    assert maps.shape == (2, 32, 32) and all(np.ptp(m) > 0 for m in maps)
    assert not layer._forward_hooks  # removed on exit
    cnn = timm.create_model("resnet18", num_classes=3)
    assert token_layout(cnn) is None
    with cam_target(cnn, cnn.layer4) as target:
        assert target is cnn.layer4
