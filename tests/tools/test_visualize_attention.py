"""tools/visualize_attention.py on randomly initialised checkpoints (nothing is trained)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import visualize_attention

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "visualize_attention.py"

CONFIG = """
custom_imports = dict(imports=["aib_plugin.mmpretrain"], allow_failed_imports=False)
default_scope = "mmpretrain"
backbone = dict(type="ResNet_CIFAR", depth=18, base_channels=8, out_indices=(3,))
model = dict(
    type="{model}",
    backbone=backbone,
    neck={neck},
    head=dict(type="LinearClsHead", num_classes=3, in_channels={head_in}),
)
data_preprocessor = dict(num_classes=3, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(32, 32)),
    dict(type="PackInputs"),
]
test_dataloader = dict(dataset=dict(type="CUBWithBoxes", pipeline=test_pipeline))
"""
IB_NECK = "dict(type='IBAttention', in_channels=64, bottleneck_dim=16)"
PLAIN_NECK = "dict(type='GlobalAveragePooling')"
CLASSES = ["albatross", "gull", "tern"]


def _write_model(folder: Path, ib: bool) -> tuple[Path, Path]:
    """A config file and a randomly initialised checkpoint of its model."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import aib_plugin.mmpretrain  # noqa: F401

    name = "ib" if ib else "plain"
    config = folder / f"{name}.py"
    config.write_text(
        CONFIG.format(
            model="IBImageClassifier" if ib else "ImageClassifier",
            neck=IB_NECK if ib else PLAIN_NECK,
            head_in=16 if ib else 64,
        )
    )
    init_default_scope("mmpretrain")
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = folder / f"{name}.pth"
    meta = {"dataset_meta": {"classes": CLASSES}}
    torch.save({"state_dict": model.state_dict(), "meta": meta}, checkpoint)
    return config, checkpoint


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("vis")
    images = root / "images"
    (images / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    sizes = {"a.png": (40, 48), "b.png": (64, 64), "sub/c.jpg": (30, 50)}  # name: (h, w)
    for name, (h, w) in sizes.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(images / name)
    (images / "notes.txt").write_text("not an image")
    boxes = root / "boxes.txt"
    boxes.write_text("b.png 16 16 48 48\n")  # original 64x64 -> 8..24 on the 32x32 input
    ib_config, ib_ckpt = _write_model(root, ib=True)
    plain_config, plain_ckpt = _write_model(root, ib=False)
    return dict(
        root=root,
        images=images,
        boxes=boxes,
        ib=(ib_config, ib_ckpt),
        plain=(plain_config, plain_ckpt),
    )


def test_tool_draws_ib_attention_grid_and_panels(setup: dict, tmp_path: Path):
    out = tmp_path / "out"
    config, checkpoint = setup["ib"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [sys.executable, str(TOOL), str(config), str(checkpoint), str(setup["images"]),
           "--out-dir", str(out), "--boxes", str(setup["boxes"]), "--threads", "2",
           "--cfg-options", "model.neck.bottleneck_dim=16"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    grid = out / "attention_grid.png"
    assert f"grid: {grid}" in result.stdout
    panels = sorted(out.glob("panel_*.png"))
    assert [p.name for p in panels] == ["panel_000_a.png", "panel_001_b.png", "panel_002_c.png"]

    with Image.open(grid) as image:
        width, height = image.size
    assert width >= 600 and height >= 3 * 200  # three rows of three pictures
    for panel_path in panels:
        panel = np.asarray(Image.open(panel_path).convert("RGB"))
        # the 32x32 input is enlarged x4: image | map | overlay side by side
        assert panel.shape == (128, 384, 3)
        image_part, map_part = panel[:, :128].astype(int), panel[:, 128:256].astype(int)
        assert np.abs(image_part - map_part).mean() > 10  # the map is not the image
    # the box of b.png (16..48 of 64) lands at 8..24 of the input, i.e. 32..96 in the panel
    b = np.asarray(Image.open(panels[1]).convert("RGB")).astype(int)
    assert (b[32, 40:90] == (0, 255, 0)).all() and (b[60, 32] == (0, 255, 0)).all()
    assert (b[60, 32 + 256] == (0, 255, 0)).all()  # drawn on the overlay too
    a = np.asarray(Image.open(panels[0]).convert("RGB")).astype(int)
    assert not (a == (0, 255, 0)).all(axis=2).any()  # a.png has no box


def test_tool_grad_cam_for_plain_model_and_bad_inputs(setup: dict, tmp_path: Path, capsys):
    tool = visualize_attention
    config, checkpoint = setup["plain"]
    image = str(setup["images"] / "a.png")

    # a model without attention needs --cam
    assert tool.main([str(config), str(checkpoint), image, "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "ImageClassifier" in err and "has no IB attention" in err and "--cam" in err

    out = tmp_path / "cam"
    argv = [str(config), str(checkpoint), image, str(setup["images"] / "sub"), "--cam",
            "--size", "48", "--out-dir", str(out)]  # fmt: skip
    assert tool.main(argv) == 0, capsys.readouterr().err
    panels = sorted(out.glob("panel_*.png"))
    assert len(panels) == 2 and (out / "attention_grid.png").is_file()
    assert np.asarray(Image.open(panels[0])).shape[:2] == (144, 432)  # 48x48 input, x3

    cases = [
        ([str(config), str(tmp_path / "missing.pth"), image], "checkpoint", "does not exist"),
        ([str(config), str(checkpoint), str(tmp_path / "empty")], "no images found", "empty"),
        ([str(tmp_path / "nope.py"), str(checkpoint), image], "config file", "nope.py"),
        ([str(config), str(checkpoint), str(setup["images"] / "notes.txt")], "not an image", ""),
    ]
    (tmp_path / "empty").mkdir()
    for argv, *words in cases:
        assert tool.main([*argv, "--out-dir", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), err
    assert not (tmp_path / "bad").exists()
    # the shared flags: --cfg-options overrides the config, --threads is checked
    cfg = tool.load_config(str(config), {"model.head.num_classes": 5})
    assert cfg.model.head.num_classes == 5
    argv = [str(config), str(checkpoint), image, "--cam", "--threads", "0"]
    assert tool.main([*argv, "--out-dir", str(tmp_path / "bad")]) == 2
    assert "--threads must be >= 1, got 0" in capsys.readouterr().err
