"""tools/aibtools: the helpers the tools share (last stage, tables, mean ± std, targets, the one
set of scores and report, the shared flags)."""

import json
import operator
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import timm
import torch

from aib_plugin import create_aib_model
from aib_plugin.evaluation import grad_cam_maps
from aibtools import flags
from aibtools.maps import cam_target, ink_map, last_stage, map_correlation, token_layout
from aibtools.report import quality_sections, read_rows_csv, targets_markdown, write_outputs
from aibtools.runs import set_run
from aibtools.scores import (
    ROW_COLUMNS,
    aggregate,
    map_sources,
    reduction_label,
    score_rows,
    target_checks,
)
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


def _maps(boxes_hit: bool) -> dict:
    """Two 8x8 test images, their boxes, labels, predictions (one wrong) and two kinds of map."""
    box = np.asarray([0, 0, 4, 4])
    inside, outside = np.zeros((8, 8)), np.zeros((8, 8))
    inside[1, 1], outside[6, 6] = 1.0, 1.0
    return dict(
        images=[np.zeros((8, 8))] * 2,
        boxes=[box, box],
        labels=[1, 2],
        preds=[1, 3],
        attention=[inside, inside] if boxes_hit else [],
        cam=[outside, outside],
    )


def test_score_rows_score_each_map_under_the_one_set_of_keys():
    run = dict(backbone="b", variant="aib", seed=4, reduction="none", train_images=9, epochs=2)
    run.update(train_minutes=0.5, eval_minutes=0.1, params=7)
    rows = score_rows(_maps(True), run, map_sources("aib", every_map=True))
    assert [r["map"] for r in rows] == ["IB attention", "Grad-CAM"]
    assert [list(r) for r in rows] == [list(ROW_COLUMNS)] * 2
    attention, cam = rows
    assert attention["top1_err"] == cam["top1_err"] == 50.0  # one of two predictions wrong
    assert (attention["pointing"], cam["pointing"]) == (100.0, 0.0)
    assert (attention["energy"], cam["energy"]) == (100.0, 0.0)
    assert attention["test_images"] == 2 and attention["seed"] == 4 and attention["params"] == 7
    assert map_sources("aib_qt", every_map=False) == ("IB attention",)
    assert map_sources("se", every_map=True) == ("Grad-CAM",)
    with pytest.raises(ValueError, match="no IB attention maps to score for 'aib'"):
        score_rows(_maps(False), run, ("IB attention",))
    with pytest.raises(ValueError, match=r"unknown map source\(s\) \['CAM'\]"):
        score_rows(_maps(True), run, ("CAM",))


def _row(variant, source, seed, err, energy, reduction="none"):
    return dict(
        backbone="b", variant=variant, seed=seed, map=source, top1_err=err, pointing=50.0,
        energy=energy, max_box_acc_v2=40.0, box_acc=30.0, reduction=reduction,
        train_images=100, test_images=10, epochs=1, train_minutes=1.0, eval_minutes=0.5,
        params=3,
    )  # fmt: skip


def test_a_plain_model_that_has_not_learned_the_task_is_not_judged() -> None:
    rows = [
        _row("plain", "Grad-CAM", 0, 8.0, 30.0),
        _row("aib", "IB attention", 0, 7.0, 20.0),  # energy missed at the learned seed
        _row("plain", "Grad-CAM", 1, 60.0, 10.0),  # seed 1: the plain model is near chance
        _row("aib", "IB attention", 1, 70.0, 99.0),  # energy met there: left out
    ]
    checks = {c["score"]: c for c in target_checks(rows)}
    energy = checks["energy"]
    assert (energy["met"], energy["seeds"], energy["not_learned"]) == (0, 1, [1])
    assert (energy["verdict"], energy["passed"], energy["plain_error"]) == ("FAIL", False, 34.0)
    assert checks["top1_err"]["verdict"] == "PASS"  # 7.0 <= 8.0 at seed 0, seed 1 not judged
    table = targets_markdown(list(checks.values()))
    assert "| 0/1 (not learned: seed 1) | missed | FAIL |" in table
    # with a bar of 5% neither seed is judged: neither met nor failed
    strict = target_checks(rows, max_plain_error=5.0)
    assert {c["verdict"] for c in strict} == {"not learned"} and not any(
        c["passed"] for c in strict
    )
    assert "| - | " in targets_markdown(strict)
    sections = quality_sections(rows, "ONE SEED", max_plain_error=5.0)
    assert "more than 5% top-1 error has not learned the task" in sections[4]
    # with 100% every seed is judged
    assert target_checks(rows, max_plain_error=100.0)[2]["met"] == 1
    with pytest.raises(
        ValueError, match="max_plain_error must be a top-1 error in \\[0, 100\\] %, got 150"
    ):
        target_checks(rows, max_plain_error=150)


def test_targets_judge_the_attention_against_the_plain_grad_cam_seed_by_seed(tmp_path):
    rows = [
        _row("plain", "Grad-CAM", 0, 10.0, 30.0),
        _row("aib", "IB attention", 0, 10.0, 45.0),  # energy 1.5x exactly: met
        _row("aib", "Grad-CAM", 0, 10.0, 99.0),  # the AIB model's Grad-CAM is not judged
        _row("plain", "Grad-CAM", 1, 6.0, 30.0),
        _row("aib", "IB attention", 1, 8.0, 40.0),  # energy 1.33x: missed
        _row("aib", "IB attention", 0, 1.0, 99.0, reduction="other sizes"),  # no plain there
    ]
    checks = {c["score"]: c for c in target_checks(rows)}
    assert list(checks) == ["top1_err", "pointing", "energy", "max_box_acc_v2"]
    energy = checks["energy"]
    assert (energy["met"], energy["seeds"], energy["passed"]) == (1, 2, False)
    assert not energy["met_on_means"]  # 42.5 < 1.5 x 30
    top1 = checks["top1_err"]
    assert (top1["value"], top1["reference_value"], top1["met_on_means"]) == (9.0, 8.0, False)
    assert top1["difference"] == pytest.approx(1.0) and top1["difference_se"] == pytest.approx(1.0)
    assert checks["pointing"]["passed"] and checks["pointing"]["reference"] == "plain"
    table = targets_markdown(list(checks.values()))
    assert (
        "| b | full | aib vs plain | 8.0 | top-1 error <= plain's | 9.0 | 8.0 | +1.0 ± 1.0 (s.e.) "
        "| 1/2 | missed | FAIL |" in table
    )
    means = aggregate(rows)
    assert [(m["variant"], m["map"], m["reduction"], m["seeds"]) for m in means] == [
        ("plain", "Grad-CAM", "none", 2),
        ("aib", "IB attention", "none", 2),
        ("aib", "Grad-CAM", "none", 1),
        ("aib", "IB attention", "other sizes", 1),
    ]
    assert means[1]["top1_err_worst"] == 10.0 and means[1]["energy_worst"] == 40.0
    sections = quality_sections(rows, "ONE SEED")
    assert "ONE SEED" not in sections and "9.0 ± 1.4 (worst 10.0)" in sections[1]
    assert quality_sections(rows[:3], "ONE SEED")[-1] == "ONE SEED"
    assert quality_sections(rows[:1], "ONE SEED")[-1] == "No AIB model has a plain reference."
    # the CSV, the JSON and the markdown of the one report
    paths = write_outputs(rows, tmp_path, "summary", "# text\n")
    assert [p.name for p in paths] == ["summary.csv", "summary.json", "summary.md"]
    assert read_rows_csv(paths[0]) == rows
    saved = json.loads(paths[1].read_text())
    assert saved["rows"] == rows and len(saved["means"]) == 4 and len(saved["targets"]) == 4
    assert reduction_label([(100, 3000, "train images"), (None, 500, "test images")]) == (
        "100 of 3,000 train images"
    )
    assert reduction_label([(3000, 3000, "train images")], options=[("a.b", 0.5)]) == "a.b=0.5"
    assert reduction_label([]) == "none"


def test_aib_options_one_meaning_in_both_frameworks():
    options = {"area_weight": 0, "model.neck.kl": "vib", "train_cfg.max_epochs": 3}
    assert flags.aib_overrides(options, neck=True) == {
        "model.neck.area_weight": 0,
        "model.neck.kl": "vib",
        "train_cfg.max_epochs": 3,
    }
    assert flags.aib_overrides({"area_weight": 0}, neck=False) == {"model.area_weight": 0}


def test_threads_are_torchs_own_unless_given():
    before = torch.get_num_threads()
    try:
        assert flags.set_threads(None) == before  # not given: left alone
        assert flags.set_threads(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="--threads must be >= 1, got 0"):
        flags.set_threads(0)
    # no tool sets a thread count (or its environment variable) when imported
    code = (
        "import os, sys; sys.path.insert(0, 'tools'); import torch; n = torch.get_num_threads(); "
        "import demo, benchmark, visualize_attention; "
        "print(os.environ.get('OMP_NUM_THREADS'), torch.get_num_threads() == n)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["None", "True"]
