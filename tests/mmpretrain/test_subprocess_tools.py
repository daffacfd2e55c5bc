"""End to end in child processes: 2-process gloo DDP, and MMPretrain's own tools/train.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import mmpretrain

from .mmp_helpers import (
    PYTHON,
    REPO,
    TINY_CONFIG,
    free_port,
    subprocess_env,
    tiny_config,
    tiny_options,
)

WHEEL_TRAIN = Path(mmpretrain.__file__).parent / ".mim" / "tools" / "train.py"


def _run(cmd: list[str], timeout: int = 240, **env: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env={**subprocess_env(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{cmd[:4]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def test_two_process_gloo_ddp(tmp_path: Path, cifar_root: Path) -> None:
    """tools/dist_train.sh = torchrun --nproc_per_node=2 tools/train.py CFG --launcher pytorch."""
    work_dir = tmp_path / "ddp"
    cmd = ["bash", "tools/dist_train.sh", str(tiny_config(tmp_path)), "2"]
    # rank 0 validates samples 0, 2, 4, 6 (DefaultSampler, 2 ranks): it draws 0 and 2
    cmd += ["--cfg-options", *tiny_options(cifar_root, work_dir), "custom_hooks.0.indices=[0,2]"]
    _run(cmd, PORT=str(free_port()))
    log = next(work_dir.glob("*/*.log")).read_text()
    assert "Distributed training: True" in log
    assert "GPU number: 2" in log  # mmengine's name for the world size
    assert "backend': 'gloo'" in log and "device_ids=None" in log
    # 40 training images, 2 ranks x batch 8: 3 iterations per epoch (DefaultSampler pads)
    assert "Epoch(train) [1][3/3]" in log and "loss_kl:" in log and "ib_kl_bits:" in log
    assert (work_dir / "epoch_1.pth").is_file()
    pngs = list(work_dir.glob("*/vis_data/vis_image/*.png"))
    assert sorted(p.name for p in pngs) == ["attention_0_1.png", "attention_2_1.png"]
    assert cv2.imread(str(pngs[0])).shape == (32, 96, 3)


def test_mmpretrains_own_train_tool_trains_and_resumes(tmp_path: Path, cifar_root: Path) -> None:
    assert WHEEL_TRAIN.is_file()
    work_dir = tmp_path / "wheel"
    config = str(tiny_config(tmp_path))  # its custom_imports register the tests' CIFAR10
    base = [PYTHON, str(WHEEL_TRAIN), config, "--cfg-options"]
    _run(base + tiny_options(cifar_root, work_dir, epochs=1))
    assert (work_dir / "epoch_1.pth").is_file()
    # --resume (auto: latest checkpoint) under torch's weights_only=True default
    _run(
        [PYTHON, str(WHEEL_TRAIN), config, "--resume", "--cfg-options"]
        + tiny_options(cifar_root, work_dir, epochs=2)
    )
    logs = sorted(work_dir.glob("*/*.log"))
    assert len(logs) == 2
    second = logs[-1].read_text()
    assert "resumed epoch: 1" in second and "Epoch(train) [2][5/5]" in second
    assert "Epoch(train) [1]" not in second and "loss_vq:" in second
    assert (work_dir / "epoch_2.pth").is_file()


WHEEL_VIS_CAM = Path(mmpretrain.__file__).parent / ".mim" / "tools" / "visualization" / "vis_cam.py"


def test_mmpretrains_own_vis_cam_runs_on_an_aib_checkpoint(tmp_path: Path) -> None:
    """The wheel's vis_cam.py passes ``use_cuda`` to grad-cam: our pin must accept that."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.runner.checkpoint import save_checkpoint
    from mmpretrain.registry import MODELS

    config = tmp_path / "vis_cam_aib.py"
    config.write_text(
        f"_base_ = [{str(TINY_CONFIG)!r}]\n"
        "model = dict(backbone=dict(stem_channels=8, base_channels=8),\n"
        "             neck=dict(in_channels=64, bottleneck_dim=16), head=dict(in_channels=16))\n"
        "test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'),\n"
        "    dict(type='Resize', scale=(32, 32)), dict(type='PackInputs')]))\n"
    )
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / "aib.pth"
    save_checkpoint({"state_dict": model.state_dict(), "meta": {}}, str(checkpoint))
    image = tmp_path / "digit.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8))
    out = tmp_path / "cam.png"
    cmd = [PYTHON, str(WHEEL_VIS_CAM), str(image), str(config), str(checkpoint)]
    proc = _run(cmd + ["--save-path", str(out), "--device", "cpu"])
    assert "Automatically choose the last norm layer" in proc.stdout
    assert cv2.imread(str(out)).shape == (32, 32, 3)
