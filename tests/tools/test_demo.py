"""The demo's pipeline end to end on a tiny size: training, scores, pictures, summary.

The demo is a preset of the benchmark's quality pipeline: the same rows, means, targets and
report (tests/tools/test_aibtools.py, test_benchmark.py), and the same flags.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import demo
from aibtools.scores import ROW_COLUMNS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One tiny demo run (plain, aib, aib_qt) shared by the tests that read its outputs."""
    out = tmp_path_factory.mktemp("quick") / "demo"
    cmd = [
        sys.executable,
        str(REPO / "tools" / "demo.py"),
        "--quick",
        "--models", "plain", "aib", "aib_qt",
        "--train-samples", "64",  # the aliases of --train-images / --test-images
        "--test-samples", "24",
        "--num-images", "3",
        "--threads", "2",
        "--out-dir", str(out),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, result


def test_demo_quick_runs_end_to_end(quick_demo):
    out, result = quick_demo
    assert f"everything is in {out}" in result.stdout
    # MMPretrain's runner logged the IB terms and the localization metric
    log = result.stdout + result.stderr
    assert "loss_kl" in log and "ib_attn_mean" in log and "localization/pointing_game" in log
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["rows"]
    mm = "mmpretrain:resnet18"
    assert [(r["backbone"], r["variant"], r["map"]) for r in rows] == [
        (mm, "plain", "Grad-CAM"),
        (mm, "aib", "IB attention"),
        (mm, "aib", "Grad-CAM"),
        (mm, "aib_qt", "IB attention"),
        (mm, "aib_qt", "Grad-CAM"),
    ]
    reduction = "64 of 3,000 train images; 24 of 500 test images; 1 of 10 epochs"
    for row in rows:
        assert row["test_images"] == 24 and row["train_images"] == 64 and row["epochs"] == 1
        assert row["reduction"] == reduction and row["seed"] == 0 and row["params"] > 0
        for key in ("top1_err", "pointing", "energy", "max_box_acc_v2", "box_acc"):
            assert 0.0 <= row[key] <= 100.0
    # one model, one top-1 error, whichever map is scored
    assert rows[1]["top1_err"] == rows[2]["top1_err"]
    # the CSV holds the same rows as the benchmark's quality CSV
    with open(out / "summary.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(ROW_COLUMNS) and len(list(reader)) == 5
    report = (out / "summary.md").read_text()
    assert f"| {mm} | plain | Grad-CAM | 1 |" in report
    assert summary["means"][0]["seeds"] == 1 and len(summary["means"]) == 5
    # the four targets, for each AIB model's attention against the plain model's Grad-CAM
    assert [(c["model"], c["reference"]) for c in summary["targets"]] == [("aib", "plain")] * 4 + [
        ("aib_qt", "plain")
    ] * 4
    assert report.count("| aib vs plain |") == 4 and report.count("| aib_qt vs plain |") == 4
    assert demo.ONE_SEED_CAVEAT in report  # one seed: the targets come with a caveat
    assert report.split("## Every run")[0].strip() in result.stdout
    grid = Image.open(out / "attention_grid.png")
    assert grid.size[0] > 300 and grid.size[1] > 300
    overlays = list((out / "aib").glob("*/vis_data/vis_image/*.png"))
    assert overlays, "the attention hook wrote no overlay"


def test_pointing_misses_scores_the_runs_of_the_demo(quick_demo):
    out, _ = quick_demo
    tool = [sys.executable, str(REPO / "projects" / "aib_studies" / "tools" / "pointing_misses.py")]
    result = subprocess.run(
        tool + [str(out / "plain"), str(out / "aib")], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "One cell = 8 px; 24 test images." in result.stdout  # 64 px images, an 8x8 last stage
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"| {out}")]
    assert [line.split(" | ")[1] for line in lines[:3]] == ["Grad-CAM", "IB attention", "Grad-CAM"]
    for line in lines[:3]:
        pointing, near, far = (float(v) for v in line.split(" | ")[2:5])
        assert pointing + near + far == pytest.approx(100.0, abs=0.2)
    # the IB attention's pointing by its own peak: four bins whose shares add up to 100 %
    assert "| run | peak [0, 0.3) | peak [0.3, 0.6) | peak [0.6, 0.9) | peak [0.9, 1] |" in (
        result.stdout
    )
    peak_line, coverage_lines = lines[3], lines[4:7]
    field_lines, ink_lines = lines[7:10], lines[10:]
    shares = [float(cell.split(" / ")[0]) for cell in peak_line.strip(" |").split(" | ")[1:]]
    assert len(shares) == 4 and sum(shares) == pytest.approx(100.0, abs=0.2)
    # coverage: MaxBoxAccV2 is the mean of its three IoU levels, one line per map
    assert [line.split(" | ")[1] for line in coverage_lines] == [
        "Grad-CAM",
        "IB attention",
        "Grad-CAM",
    ]
    for line in coverage_lines:
        cells = line.strip(" |").split(" | ")
        levels = [float(v) for v in cells[3].split(" / ")]
        assert float(cells[2]) == pytest.approx(sum(levels) / 3, abs=0.1)
        assert 0 <= float(cells[4]) <= 1 and 0 <= float(cells[6]) <= 1
    # receptive fields: each map's layer, and its maximum in the layer's own geometry (the
    # maximum's cell moved from where it is drawn to its receptive-field centre)
    assert [line.split(" | ")[2] for line in field_lines] == [
        "last stage output",
        "last stage input",
        "last stage output",
    ]
    for line in field_lines:
        field, offset, own = (
            [float(v) for v in cell.strip("()").split(", ")]
            for cell in line.strip(" |").split(" | ")[3:6]
        )
        assert own == pytest.approx([o + f for o, f in zip(offset, field, strict=True)], abs=0.11)
    # what the maps follow: each map's energy and pointing beside the ink's at its 8x8 grid
    assert [line.split(" | ")[1:3] for line in ink_lines] == [
        ["Grad-CAM", "8x8"],
        ["IB attention", "8x8"],
        ["Grad-CAM", "8x8"],
    ]
    ink_energies = set()
    for line, pointing_line in zip(ink_lines, lines[:3], strict=True):
        cells = line.strip(" |").split(" | ")
        energy, ink_energy, pointing, ink_pointing, correlation = (float(v) for v in cells[3:8])
        assert 0 < energy < 100 and 0 < ink_energy < 100 and -1 <= correlation <= 1
        assert pointing == float(pointing_line.split(" | ")[2])  # the misses table's pointing
        ink_energies.add((ink_energy, ink_pointing))
    assert len(ink_energies) == 1  # the ink of the same test images at the same grid
    # a folder that is not a finished run is refused by name
    result = subprocess.run(tool + [str(out)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and f"{out}: expected one dumped config" in result.stderr


def test_demo_rejects_bad_sizes():
    cmd = [sys.executable, str(REPO / "tools" / "demo.py"), "--epochs", "0"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and "--epochs must be >= 1, got 0" in result.stderr


def test_shared_flags_their_aliases_and_threads(capsys):
    """--seeds / --train-images / --test-images with their old names, and --threads."""
    new = demo.parse_args(["--seeds", "1", "2", "--train-images", "5", "--test-images", "3"])
    old = demo.parse_args(["--seed", "1", "2", "--train-samples", "5", "--test-samples", "3"])
    assert vars(new) == vars(old)
    assert (new.seeds, new.train_images, new.test_images, new.threads) == ([1, 2], 5, 3, None)
    assert demo.parse_args([]).seeds == [0]
    quick = demo.parse_args(["--quick", "--test-images", "7"])
    assert (quick.epochs, quick.train_images, quick.test_images) == (1, 96, 7)
    for argv, message in (
        (["--threads", "0"], "--threads must be >= 1, got 0"),
        (["--seeds", "1", "1"], "--seeds: each seed once, got [1, 1]"),
        (["--test-samples", "0"], "--test-images must be >= 1, got 0"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            demo.parse_args(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_aib_options_change_the_aib_models_only_and_cfg_options_every_model(tmp_path):
    """One meaning of --aib-options: config overrides of the AIB models; a bare keyword is the
    AIB model's, in the neck (MMPretrain) or the model (timm). --cfg-options: every model,
    named in its rows' reduction."""
    args = demo.parse_args(
        ["--models", "plain", "aib", "timm_plain", "timm_aib", "--epochs", "2"]
        + ["--aib-options", "area_weight=0", "model.neck.kl=vib"]
        + ["--cfg-options", "optim_wrapper.optimizer.lr=0.01"]
    )
    cfg, run = demo.load_config("aib", args, tmp_path / "aib", 3)
    assert (cfg.model.neck.area_weight, cfg.model.neck.kl) == (0, "vib")
    assert cfg.optim_wrapper.optimizer.lr == 0.01 and cfg.randomness.seed == 3
    assert run == dict(
        backbone="mmpretrain:resnet18",
        variant="aib",
        seed=3,
        reduction="2 of 10 epochs; optim_wrapper.optimizer.lr=0.01",
        train_images=3000,
        epochs=2,
    )
    plain, plain_run = demo.load_config("plain", args, tmp_path / "plain", 3)
    assert plain.model.neck == dict(type="GlobalAveragePooling")  # the AIB options: not here
    assert plain.optim_wrapper.optimizer.lr == 0.01
    assert plain_run["reduction"] == run["reduction"]  # paired with the AIB model
    timm_args = demo.parse_args(["--models", "timm_aib", "--aib-options", "area_weight=0"])
    timm_aib, timm_run = demo.load_config("timm_aib", timm_args, tmp_path / "t", 0)
    assert timm_aib.model.area_weight == 0 and timm_run["backbone"] == "resnet18"
    timm_plain, _ = demo.load_config("timm_plain", timm_args, tmp_path / "tp", 0)
    assert "area_weight" not in timm_plain.model


def _row(variant, source, seed, err, pointing, energy, max_box_acc_v2=40.0):
    return dict(
        backbone="mmpretrain:resnet18",
        variant=variant,
        seed=seed,
        map=source,
        top1_err=err,
        pointing=pointing,
        energy=energy,
        max_box_acc_v2=max_box_acc_v2,
        box_acc=50.0,
        reduction="none",
        train_images=3000,
        test_images=500,
        epochs=10,
        train_minutes=1.0,
        eval_minutes=0.1,
        params=10,
    )


def _write_run(run_dir, rows):
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(json.dumps(dict(rows=rows, means=[], targets=[])))
    return str(run_dir)


def test_combine_merges_runs_of_single_seeds(tmp_path, capsys):
    seed0 = _write_run(
        tmp_path / "s0",
        [
            _row("plain", "Grad-CAM", 0, 10.0, 80.0, 30.0),
            _row("aib", "IB attention", 0, 8.0, 85.0, 35.0),
        ],
    )
    seed1 = _write_run(
        tmp_path / "s1",
        [
            _row("plain", "Grad-CAM", 1, 6.0, 90.0, 30.0),
            _row("aib", "IB attention", 1, 7.0, 95.0, 40.0),
        ],
    )
    out = tmp_path / "both"
    assert demo.main(["--combine", seed0, seed1, "--out-dir", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [(r["variant"], r["seed"]) for r in summary["rows"]] == [
        ("plain", 0), ("aib", 0), ("plain", 1), ("aib", 1)
    ]  # fmt: skip
    assert [m["seeds"] for m in summary["means"]] == [2, 2]
    top1 = summary["targets"][0]
    assert (top1["value"], top1["reference_value"], top1["met"]) == (7.5, 8.0, 1)
    assert (top1["met_on_means"], top1["passed"]) == (True, False)
    report = (out / "summary.md").read_text()
    assert "| mmpretrain:resnet18 | aib | IB attention | 2 | 7.5 ± 0.7 (worst 8.0) |" in report
    assert "| 1/2 | met | FAIL |" in report  # the seeds met, on the means, the verdict
    assert demo.ONE_SEED_CAVEAT not in report and (out / "summary.csv").is_file()
    assert "combined summary is in" in capsys.readouterr().out
    # the same row from two runs is refused, naming both
    other = _write_run(tmp_path / "other", [_row("aib", "IB attention", 1, 50.0, 50.0, 50.0)])
    assert demo.main(["--combine", seed1, other, "--out-dir", str(tmp_path / "x")]) == 2
    key = "('mmpretrain:resnet18', 'aib', 'IB attention', 1, 'none')"
    assert f"{key} is in both {seed1} and {other}" in capsys.readouterr().err
    # a summary without seeds, or of another shape, is refused by name
    unseeded = _write_run(tmp_path / "unseeded", [_row("aib", "IB attention", 0, 1, 1, 1)])
    summary = json.loads((tmp_path / "unseeded" / "summary.json").read_text())
    del summary["rows"][0]["seed"]
    (tmp_path / "unseeded" / "summary.json").write_text(json.dumps(summary))
    assert demo.main(["--combine", unseeded, "--out-dir", str(tmp_path / "y")]) == 2
    assert f"a row of {unseeded}/summary.json has no seed" in capsys.readouterr().err
    (tmp_path / "unseeded" / "summary.json").write_text("[]")
    assert demo.main(["--combine", unseeded, "--out-dir", str(tmp_path / "y")]) == 2
    assert "has no 'rows'" in capsys.readouterr().err
    # a row of an older demo (top1 / pointing_game / energy_in_box) is refused by name
    legacy = dict(model="plain", map="Grad-CAM", seed=0, top1=90.0, pointing_game=80.0)
    legacy.update(energy_in_box=30.0, max_box_acc_v2=40.0, box_acc=50.0)
    old = _write_run(tmp_path / "old", [legacy])
    assert demo.main(["--combine", old, "--out-dir", str(tmp_path / "z")]) == 2
    assert f"a row of {old}/summary.json has no top1_err, pointing, energy" in (
        capsys.readouterr().err
    )


def test_combine_rejects_training_options_and_bad_folders(tmp_path):
    cmd = [sys.executable, str(REPO / "tools" / "demo.py"), "--combine"]
    run = _write_run(tmp_path / "run", [_row("plain", "Grad-CAM", 0, 10.0, 80.0, 30.0)])
    result = subprocess.run(cmd + [run, "--seed", "1", "--quick"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--combine trains nothing: --seeds --quick would have no effect" in result.stderr
    result = subprocess.run(cmd + [str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and f"no summary.json in {tmp_path}" in result.stderr
    result = subprocess.run(cmd + [run, "--out-dir", run], capture_output=True, text=True)
    assert result.returncode == 2 and f"--out-dir {run} is one of the runs" in result.stderr


def test_demo_rejects_a_missing_aib_config():
    cmd = [sys.executable, str(REPO / "tools" / "demo.py")]
    result = subprocess.run(
        cmd + ["--aib-config", "no/such.py"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 2 and "--aib-config: no config file at no/such.py" in result.stderr
    plain = str(REPO / "configs" / "cluttered_digits" / "resnet18_1xb32_cluttered-digits.py")
    result = subprocess.run(
        cmd + ["--aib-config", plain, "--models", "plain"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "add 'aib' to --models" in result.stderr
