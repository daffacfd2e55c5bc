"""README and the user guide as written: their code runs, their links resolve, CI runs README's
test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
#: every markdown page of the user guide and of the studies, README included
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
PAGES += sorted((REPO / "projects").rglob("*.md"))


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / page).read_text(), re.S)


def _section(text: str, heading: str) -> str:
    """The text under ``## heading``, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def test_readme_is_a_short_user_guide() -> None:
    assert len(README.splitlines()) <= 200
    named = re.findall(r"(?<![\w./-])((?:docs|projects|configs|tools)/[\w./-]*\w)", README)
    assert named, "README names no file of the repository"
    for path in named:
        assert (REPO / path).exists(), f"README names {path}, which does not exist"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path) -> None:
    """Every ``[text](target)`` link that is not a URL points at a file or folder that exists."""
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.relative_to(REPO)} links to {target}, which does not exist"


def test_ci_runs_readme_test_command() -> None:
    """.ci/run's last command is the command of README's Development section, as written."""
    blocks = re.findall(r"```bash\n(.*?)```", _section(README, "Development"), re.S)
    assert blocks, "README's Development section has no bash block"
    command = blocks[0].strip()
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1].strip() == command
    assert shlex.split(command)[-3:] == ["-m", "pytest", "-q"]


def test_readme_timm_loop_runs(capsys) -> None:
    torch.manual_seed(0)
    exec(compile(BLOCKS[0], "README.md (timm)", "exec"), {})
    printed = capsys.readouterr().out
    assert "'kl_bits'" in printed and "'commit'" in printed  # frozen anchors: no 'vq'


def _build_config(text: str, tmp_path: Path) -> torch.nn.Module:
    """Build the model of a config fragment whose ``_base_`` names ``configs/_base_/``."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    import aib_plugin.mmpretrain  # noqa: F401

    text = text.replace("'./_base_/", f"'{REPO / 'configs' / '_base_'}/")
    config = tmp_path / "guide_config.py"
    config.write_text(text)
    return MODELS.build(Config.fromfile(str(config)).model)


def _loss_keys(model: torch.nn.Module) -> set[str]:
    from mmpretrain.structures import DataSample

    samples = [DataSample().set_gt_label(i) for i in (0, 1)]
    losses = model(torch.randn(2, 3, 64, 64), samples, mode="loss")
    return {k for k in losses if k.startswith("loss")}


def test_readme_mmpretrain_config_builds_and_logs_the_ib_terms(tmp_path: Path) -> None:
    model = _build_config(BLOCKS[1], tmp_path)
    assert model.neck.in_channels == 2048  # inferred from ResNet-50
    assert _loss_keys(model) == {"loss_cls", "loss_kl"}


def test_mmpretrain_guide_config_builds_with_anchors_at_the_paper_placement(tmp_path) -> None:
    model = _build_config(_python_blocks("docs/mmpretrain.md")[0], tmp_path)
    assert model.neck.in_channels == 1024  # the input of layer4: ResNet-50's layer3 output
    assert _loss_keys(model) == {"loss_cls", "loss_kl", "loss_commit"}  # frozen anchors: no vq


def test_timm_guide_examples_run(capsys) -> None:
    blocks = _python_blocks("docs/timm.md")
    assert len(blocks) == 3
    for index, block in enumerate(blocks):
        exec(compile(block, f"docs/timm.md (block {index})", "exec"), {})
    printed = capsys.readouterr().out
    assert "'resnet18_aib'" in printed and "'resnet26d_aib'" not in printed.split("\n")[0]
    assert "torch.Size([2, 10]) torch.Size([2, 1," in printed  # logits and the attention map
    assert "['ib_kl_bits', 'ib_loss', 'loss', 'output', 'task_loss']" in printed
