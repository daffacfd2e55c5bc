"""README's code runs as written: the timm loop and the MMPretrain config fragment."""

from __future__ import annotations

import re
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_is_a_short_user_guide() -> None:
    assert len(README.splitlines()) <= 200
    for link in re.findall(r"`(docs/[^`]+\.(?:md|png))`|\((docs/[^)]+)\)", README):
        target = next(part for part in link if part)
        assert (REPO / target).exists(), target


def test_readme_timm_loop_runs(capsys) -> None:
    torch.manual_seed(0)
    exec(compile(BLOCKS[0], "README.md (timm)", "exec"), {})
    printed = capsys.readouterr().out
    assert "'kl_bits'" in printed and "'commit'" in printed  # frozen anchors: no 'vq'


def test_readme_mmpretrain_config_builds_and_logs_the_ib_terms(tmp_path: Path) -> None:
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    import aib_plugin.mmpretrain  # noqa: F401

    text = BLOCKS[1].replace("'./_base_/", f"'{REPO / 'configs' / '_base_'}/")
    config = tmp_path / "readme_config.py"
    config.write_text(text)
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    assert model.neck.in_channels == 2048  # inferred from ResNet-50
    samples = [DataSample().set_gt_label(i) for i in (0, 1)]
    losses = model(torch.randn(2, 3, 64, 64), samples, mode="loss")
    assert {k for k in losses if k.startswith("loss")} == {"loss_cls", "loss_kl"}
