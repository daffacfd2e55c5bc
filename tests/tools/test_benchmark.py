"""tools/benchmark.py: the quick mode end to end, and the helpers its numbers rest on."""

import csv
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
from aibtools.benchmark import NotApplicable, build_variant
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
    quality_targets,
)

REPO = Path(__file__).resolve().parents[2]
RATIOS = ("params_ratio", "gflops_ratio", "latency_b1_ratio", "batch_ratio", "train_step_ratio")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


@pytest.mark.slow
def test_quick_mode_writes_csv_markdown_and_png(tmp_path):
    out = tmp_path / "bench"
    env = dict(os.environ, OMP_NUM_THREADS="2")
    cmd = [sys.executable, str(REPO / "tools" / "benchmark.py"), "--quick", "--out-dir", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
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

    columns, quality_rows = _read(out / "quality.csv")
    assert columns == list(QUALITY_COLUMNS)
    assert [r["variant"] for r in quality_rows] == ["plain", "se", "cbam", "aib", "aib_qt"]
    for row in quality_rows:
        assert row["map"] == ("IB attention" if row["variant"].startswith("aib") else "Grad-CAM")
        for key in ("accuracy", "pointing_game", "energy_in_box", "box_accuracy"):
            assert 0.0 <= float(row[key]) <= 100.0

    summary = (out / "summary.md").read_text()
    assert "## Cost and speed" in summary and "## Quality (cluttered digits)" in summary
    assert "| resnet18 | aib |" in summary and "| resnet18 | cbam | Grad-CAM |" in summary
    target_lines = summary.split("## Targets")[1].strip("`\n ").splitlines()
    assert target_lines[0].startswith("SKIP") and "resnet50" in target_lines[0]
    assert len(target_lines) == 3
    assert all(line.split()[0] in ("PASS", "FAIL") for line in target_lines[1:])
    assert summary.split("## Targets")[1] in result.stdout
    image = Image.open(out / "benchmark.png")
    assert image.size[0] > 800 and image.size[1] > 300


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


def test_quality_targets_use_the_mean_over_seeds():
    rows = [
        dict(backbone="b", variant=v, seed=s, map="m", accuracy=acc, pointing_game=0.0,
             energy_in_box=energy, box_accuracy=0.0, train_seconds=1.0)
        for v, s, acc, energy in (
            ("plain", 0, 80.0, 20.0), ("plain", 1, 60.0, 20.0),
            ("aib", 0, 75.0, 30.0), ("aib", 1, 70.0, 10.0),
        )
    ]  # fmt: skip
    aggregated = aggregate_quality(rows)
    assert aggregated[0]["accuracy"] == 70.0 and aggregated[1]["accuracy"] == 72.5
    # the sample standard deviation over seeds: |80 - 60| / sqrt(2)
    assert aggregated[0]["accuracy_std"] == pytest.approx(20 / 2**0.5)
    lines = quality_targets(rows)
    assert lines[0].startswith("PASS") and "72.5% vs plain 70.0%" in lines[0]
    assert lines[1].startswith("FAIL")  # 20.0 is not above 20.0


def test_bad_arguments_are_refused(capsys):
    for argv, message in (
        (["--repeats", "0"], "--repeats must be >= 1, got 0"),
        (["--variants", "aib"], "must include 'plain'"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            benchmark.parse_args(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    quick = benchmark.parse_args(["--quick", "--repeats", "5"])
    assert quick.repeats == 5 and quick.input_size == 64 and len(quick.backbones) == 2
