"""The study tool train_curve: per-epoch training loss from MMEngine's scalars.json, by seed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import train_curve

REPO = Path(__file__).resolve().parents[3]


def _write_run(work_dir: Path, losses_by_epoch: dict[int, list[float]], key: str) -> None:
    """A run folder as MMEngine writes it: training records, then a validation record."""
    vis = work_dir / "20260101_000000" / "vis_data"
    vis.mkdir(parents=True)
    lines, step = [], 0
    for epoch, losses in losses_by_epoch.items():
        for loss in losses:
            step += 20
            lines.append({"lr": 1e-3, key: loss, "loss": loss + 1.0, "epoch": epoch, "step": step})
    lines.append({"accuracy/top1": 90.0, "step": len(losses_by_epoch)})
    (vis / "scalars.json").write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def test_epoch_means_prefer_loss_cls_and_group_runs_that_differ_by_seed(tmp_path, capsys):
    tool = train_curve
    _write_run(tmp_path / "aib_s0" / "aib", {1: [3.0, 2.0], 2: [1.0, 0.0]}, "loss_cls")
    _write_run(tmp_path / "aib_s1" / "aib", {1: [4.0, 4.0], 2: [2.0, 2.0]}, "loss_cls")
    # a stock classifier logs only "loss": that is its classification loss
    plain = tmp_path / "plain_s0" / "plain"
    vis = plain / "20260101_000000" / "vis_data"
    vis.mkdir(parents=True)
    (vis / "scalars.json").write_text(json.dumps({"loss": 0.5, "epoch": 1, "step": 20}) + "\n")

    assert tool.epoch_losses(tool.find_scalars(tmp_path / "aib_s0" / "aib")) == {1: 2.5, 2: 0.5}
    runs = [str(tmp_path / "aib_s0" / "aib"), str(tmp_path / "aib_s1" / "aib"), str(plain)]
    assert tool.main(runs) == 0
    table = capsys.readouterr().out
    assert "| run | epoch 1 | epoch 2 |" in table
    assert f"| {plain} | 0.50 | - |" in table
    group = tool.group_of(runs[0])
    assert group == tool.group_of(runs[1]) and "aib_s?" in group
    # one mean row: the plain run has no second seed to average with
    assert [line for line in table.splitlines() if line.startswith("| mean of")] == [
        f"| mean of {group} (2 runs) | 3.25 | 1.25 |"
    ]


def test_bad_folders_are_refused_by_name(tmp_path):
    tool = [sys.executable, str(REPO / "projects" / "aib_studies" / "tools" / "train_curve.py")]
    result = subprocess.run(tool + [str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert f"{tmp_path}: no <timestamp>/vis_data/scalars.json" in result.stderr
    _write_run(tmp_path / "run", {}, "loss_cls")
    with pytest.raises(ValueError, match="no training record with 'loss_cls' or 'loss'"):
        train_curve.epoch_losses(train_curve.find_scalars(tmp_path / "run"))
