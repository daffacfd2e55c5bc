"""The demo's pipeline end to end on a tiny size: training, scores, pictures, summary."""

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def test_demo_quick_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
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
    assert f"everything is in {out}" in result.stdout
    # MMPretrain's runner logged the IB terms and the localization metric
    log = result.stdout + result.stderr
    assert "loss_kl" in log and "loss_vq" in log and "localization/pointing_game" in log
    rows = json.loads((out / "summary.json").read_text())
    assert [(r["model"], r["map"]) for r in rows] == [
        ("plain", "Grad-CAM"),
        ("aib", "IB attention"),
        ("aib", "Grad-CAM"),
        ("aib_qt", "IB attention"),
        ("aib_qt", "Grad-CAM"),
    ]
    for row in rows:
        assert row["images"] == 24
        for key in ("top1", "pointing_game", "energy_in_box", "box_acc"):
            assert 0.0 <= row[key] <= 100.0
    assert "| plain | Grad-CAM |" in (out / "summary.md").read_text()
    grid = Image.open(out / "attention_grid.png")
    assert grid.size[0] > 300 and grid.size[1] > 300
    overlays = list((out / "aib").glob("*/vis_data/vis_image/*.png"))
    assert overlays, "the attention hook wrote no overlay"


def test_demo_rejects_bad_sizes():
    cmd = [sys.executable, str(REPO / "tools" / "demo.py"), "--epochs", "0"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and "--epochs must be >= 1, got 0" in result.stderr
