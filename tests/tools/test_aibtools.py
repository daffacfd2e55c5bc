"""tools/aibtools: the helpers the tools share (last stage, tables, mean ± std, targets)."""

import operator

import pytest
import timm
import torch

from aib_plugin import create_aib_model
from aibtools.maps import last_stage
from aibtools.tables import markdown_table, mean_std
from aibtools.targets import Target, check


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
