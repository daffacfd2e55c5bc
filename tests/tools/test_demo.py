"""The demo's pipeline end to end on a tiny size: training, scores, pictures, summary."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import demo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One tiny demo run (plain, aib, aib_qt) shared by the tests that read its outputs."""
    out = tmp_path_factory.mktemp("quick") / "demo"
    env = dict(os.environ, OMP_NUM_THREADS="2")
    cmd = [
        sys.executable,
        str(REPO / "tools" / "demo.py"),
        "--quick",
        "--models", "plain", "aib", "aib_qt",
        "--train-samples", "64",
        "--test-samples", "24",
        "--num-images", "3",
        "--out-dir", str(out),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
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
    assert [(r["model"], r["map"]) for r in rows] == [
        ("plain", "Grad-CAM"),
        ("aib", "IB attention"),
        ("aib", "Grad-CAM"),
        ("aib_qt", "IB attention"),
        ("aib_qt", "Grad-CAM"),
    ]
    for row in rows:
        assert row["images"] == 24
        for key in ("top1", "pointing_game", "energy_in_box", "max_box_acc_v2", "box_acc"):
            assert 0.0 <= row[key] <= 100.0
    report = (out / "summary.md").read_text()
    assert "| plain | Grad-CAM |" in report
    # the four targets, for each AIB model against the plain one
    assert [(c["model"], c["reference"]) for c in summary["targets"]] == [("aib", "plain")] * 4 + [
        ("aib_qt", "plain")
    ] * 4
    assert report.count("| aib vs plain |") == 4 and report.count("| aib_qt vs plain |") == 4
    assert demo.ONE_SEED_CAVEAT in report  # one seed: the targets come with a caveat
    grid = Image.open(out / "attention_grid.png")
    assert grid.size[0] > 300 and grid.size[1] > 300
    overlays = list((out / "aib").glob("*/vis_data/vis_image/*.png"))
    assert overlays, "the attention hook wrote no overlay"


def test_pointing_misses_scores_the_runs_of_the_demo(quick_demo):
    out, _ = quick_demo
    tool = [sys.executable, str(REPO / "tools" / "pointing_misses.py")]
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


def _row(model, source, seed, top1, pointing, energy, max_box_acc_v2=40.0):
    return dict(
        model=model,
        map=source,
        seed=seed,
        top1=top1,
        pointing_game=pointing,
        energy_in_box=energy,
        max_box_acc_v2=max_box_acc_v2,
        box_acc=50.0,
        train_minutes=1.0,
        images=10,
    )


def test_targets_compare_attention_with_plain_grad_cam_seed_by_seed():
    rows = [
        _row("plain", "Grad-CAM", 0, 90.0, 80.0, 30.0, 40.0),
        _row("aib", "IB attention", 0, 90.0, 85.0, 45.0, 40.0),  # energy 1.5x exactly: met
        _row("aib", "Grad-CAM", 0, 90.0, 99.0, 99.0, 99.0),  # the AIB's Grad-CAM is not judged
        _row("plain", "Grad-CAM", 1, 94.0, 90.0, 30.0, 50.0),
        _row("aib", "IB attention", 1, 92.0, 70.0, 40.0, 49.0),  # energy 1.33x: not met
    ]
    checks = {c["score"]: c for c in demo.target_checks(rows)}
    assert [(c["met"], c["seeds"], c["met_on_means"]) for c in checks.values()] == [
        (1, 2, False),  # top-1: 91 < 92 on the means
        (1, 2, False),  # pointing: 77.5 < 85
        (1, 2, False),  # energy: 42.5 < 1.5 x 30
        (1, 2, False),  # MaxBoxAccV2: 44.5 < 45
    ]
    assert checks["top1"]["value"] == pytest.approx(91.0)
    table = demo.targets_table(list(checks.values()))
    # differences 0 and -2: mean -1, standard error std(ddof=1) / sqrt(2) = 1
    assert checks["top1"]["difference"] == pytest.approx(-1.0)
    assert checks["top1"]["difference_se"] == pytest.approx(1.0)
    assert (
        "| aib vs plain | top-1 >= plain's | 91.0 | 92.0 | -1.0 ± 1.0 (s.e.) | "
        "1/2 seeds; on the means: NO |" in table
    )
    one_seed = demo.target_checks(rows[:3])
    assert one_seed[0]["difference_se"] is None
    assert "| 90.0 | 90.0 | +0.0 | yes |" in demo.targets_table(one_seed)
    means = demo.mean_rows(rows)
    assert [(m["model"], m["map"], m["seeds"]) for m in means] == [
        ("plain", "Grad-CAM", 2),
        ("aib", "IB attention", 2),
        ("aib", "Grad-CAM", 1),
    ]
    # the sample standard deviation over seeds (ddof=1): |90 - 92| / sqrt(2); 0 for one seed
    assert means[1]["top1"] == pytest.approx(91.0)
    assert means[1]["top1_std"] == pytest.approx(2**0.5) and means[2]["top1_std"] == 0.0
    assert "| aib | IB attention | 91.0 ± 1.4 |" in demo.scores_table(means)
    # a plain model alone has nothing to be compared with
    assert demo.target_checks(rows[:1]) == []


def _write_run(run_dir, rows):
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(json.dumps(dict(rows=rows, means=[], targets=[])))
    return str(run_dir)


def test_combine_merges_runs_of_single_seeds(tmp_path, capsys):
    seed0 = _write_run(
        tmp_path / "s0",
        [
            _row("plain", "Grad-CAM", 0, 90.0, 80.0, 30.0),
            _row("aib", "IB attention", 0, 92.0, 85.0, 35.0),
        ],
    )
    seed1 = _write_run(
        tmp_path / "s1",
        [
            _row("plain", "Grad-CAM", 1, 94.0, 90.0, 30.0),
            _row("aib", "IB attention", 1, 93.0, 95.0, 40.0),
        ],
    )
    out = tmp_path / "both"
    assert demo.main(["--combine", seed0, seed1, "--out-dir", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [(r["model"], r["seed"]) for r in summary["rows"]] == [
        ("plain", 0), ("aib", 0), ("plain", 1), ("aib", 1)
    ]  # fmt: skip
    assert [m["seeds"] for m in summary["means"]] == [2, 2]
    top1 = summary["targets"][0]
    assert (top1["value"], top1["reference_value"], top1["met"]) == (92.5, 92.0, 1)
    report = (out / "summary.md").read_text()
    assert "over seeds [0, 1]" in report and demo.ONE_SEED_CAVEAT not in report
    assert "combined summary is in" in capsys.readouterr().out
    # the same (model, map, seed) from two runs is refused, naming both
    other = _write_run(tmp_path / "other", [_row("aib", "IB attention", 1, 50.0, 50.0, 50.0)])
    assert demo.main(["--combine", seed1, other, "--out-dir", str(tmp_path / "x")]) == 2
    assert f"('aib', 'IB attention', 1) is in both {seed1} and {other}" in capsys.readouterr().err
    # a summary without seeds, or of another shape, is refused by name
    unseeded = _write_run(tmp_path / "unseeded", [dict(_row("aib", "IB attention", 0, 1, 1, 1))])
    summary = json.loads((tmp_path / "unseeded" / "summary.json").read_text())
    del summary["rows"][0]["seed"]
    (tmp_path / "unseeded" / "summary.json").write_text(json.dumps(summary))
    assert demo.main(["--combine", unseeded, "--out-dir", str(tmp_path / "y")]) == 2
    assert f"a row of {unseeded}/summary.json has no seed" in capsys.readouterr().err
    (tmp_path / "unseeded" / "summary.json").write_text("[]")
    assert demo.main(["--combine", unseeded, "--out-dir", str(tmp_path / "y")]) == 2
    assert "has no 'rows'" in capsys.readouterr().err
    # a row without a score this demo prints (an older demo's summary) is refused by name
    old = _write_run(tmp_path / "old", [_row("plain", "Grad-CAM", 0, 90.0, 80.0, 30.0)])
    summary = json.loads((tmp_path / "old" / "summary.json").read_text())
    del summary["rows"][0]["max_box_acc_v2"]
    (tmp_path / "old" / "summary.json").write_text(json.dumps(summary))
    assert demo.main(["--combine", old, "--out-dir", str(tmp_path / "z")]) == 2
    assert f"a row of {old}/summary.json has no max_box_acc_v2" in capsys.readouterr().err


def test_combine_rejects_training_options_and_bad_folders(tmp_path):
    cmd = [sys.executable, str(REPO / "tools" / "demo.py"), "--combine"]
    run = _write_run(tmp_path / "run", [_row("plain", "Grad-CAM", 0, 90.0, 80.0, 30.0)])
    result = subprocess.run(cmd + [run, "--seed", "1", "--quick"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--combine trains nothing: --seed --quick would have no effect" in result.stderr
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
