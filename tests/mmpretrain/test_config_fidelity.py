"""The configs build with the placement docs/paper_fidelity.md states for them.

The record's tables are read, not restated here: its per-setting table (the configs that follow
the authors' code) and its placement table (every AIB config). Each named config is loaded with
``Config.fromfile``, its model built with MMPretrain's registry and run on a small input; the
module whose input the attention modulates must be the one the record names.
"""

from __future__ import annotations

import re
from typing import Optional

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from .mmp_helpers import CONFIGS, REPO
from .test_mmp_configs import _expand

RECORD = (REPO / "docs" / "paper_fidelity.md").read_text()
#: a backticked module path, bare or as ``attention_at='...'`` / ``attention_stage='...'``
MODULE = re.compile(r"`(?:attention_(?:at|stage)=')?([A-Za-z_]\w*(?:\.\d+)*)'?`")
#: the placement table's word for the neck's default: the attention on the backbone's output
AFTER_BACKBONE = "after-backbone"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _names(cell: str) -> list[str]:
    """The config files a table cell names (brace patterns expanded)."""
    return [n for p in re.findall(r"`([\w/{},.-]+\.py)`", cell) for n in _expand(p)]


def _placement(cell: str) -> Optional[str]:
    """The module path a placement cell states; None for the backbone's output."""
    if cell.startswith(f"`{AFTER_BACKBONE}`"):
        return None
    match = MODULE.search(cell)
    if match is None:
        raise ValueError(f"docs/paper_fidelity.md: no placement in the cell {cell!r}")
    return match.group(1)


def _placement_table() -> dict[str, Optional[str]]:
    """Config name -> placement, from the record's "Placement in every AIB config" table."""
    section = RECORD.split("## Placement in every AIB config", 1)[1].split("\n## ", 1)[0]
    rows = [_cells(line) for line in section.splitlines() if line.startswith("| `")]
    return {name: _placement(row[1]) for row in rows for name in _names(row[0])}


def _per_setting_table() -> dict[str, Optional[str]]:
    """Config name -> placement, from the per-setting table's "config" and "placement" rows."""
    section = RECORD.split("## Per setting", 1)[1].split("\n## ", 1)[0]
    rows = {cells[0]: cells[1:] for cells in map(_cells, section.splitlines()) if cells[0]}
    return {
        name: _placement(placement)
        for configs, placement in zip(rows["config"], rows["placement"], strict=True)
        for name in _names(configs)
    }


PLACEMENTS = _placement_table()
PAPER_SETTINGS = _per_setting_table()


def _resolved(cfg: Config) -> Optional[str]:
    """The placement the loaded config asks for (classifier level, alias or neck), or None."""
    model = cfg.model
    neck = model.get("neck") or {}
    for value in (
        model.get("attention_at"),
        model.get("attention_stage"),
        neck.get("attention_at"),
    ):
        if value is not None:
            return value
    return None


def _built_placement(cfg: Config, size: int) -> tuple[Optional[str], list[tuple[int, ...]]]:
    """The backbone module whose input the built model's attention modulates (None: the neck
    reads the backbone's output), and the shapes that attention saw on a ``size`` input."""
    model = MODELS.build(cfg.model).eval()
    wrapped = [name for name, _ in model.named_modules() if name.endswith(".ib_attention")]
    assert len(wrapped) <= 1, f"more than one attention: {wrapped}"
    if not wrapped:
        assert type(model.neck).__name__ == "IBAttention"
        return None, []
    shapes: list[tuple[int, ...]] = []
    module = model.get_submodule(wrapped[0])
    module.register_forward_hook(lambda _m, inputs, _o: shapes.append(tuple(inputs[0].shape)))
    with torch.no_grad():
        model(torch.rand(1, 3, size, size), mode="tensor")
    path = wrapped[0].removesuffix(".ib_attention")
    return path.removeprefix("model.").removeprefix("backbone."), shapes


def test_the_record_names_a_placement_for_every_aib_config() -> None:
    aib_configs = {
        str(p.relative_to(CONFIGS))
        for p in CONFIGS.rglob("*.py")
        if "_base_" not in p.parts and "_aib" in p.name
    }
    assert set(PLACEMENTS) == aib_configs
    # the configs that follow the authors' code are in both tables, with one placement
    assert set(PAPER_SETTINGS) <= set(PLACEMENTS)
    assert {n: PLACEMENTS[n] for n in PAPER_SETTINGS} == PAPER_SETTINGS
    assert {PAPER_SETTINGS[n] for n in PAPER_SETTINGS if n.startswith("wrn28-10")} == {"groups.2"}


def test_the_record_parser_refuses_a_cell_without_placement() -> None:
    with pytest.raises(ValueError, match="no placement in the cell 'somewhere'"):
        _placement("somewhere")


@pytest.mark.parametrize("name", sorted(PLACEMENTS), ids=str)
def test_config_builds_with_the_recorded_placement(name: str) -> None:
    expected = PLACEMENTS[name]
    cfg = Config.fromfile(str(CONFIGS / name))
    if cfg.model.type == "IBImageClassifier":  # the config names its placement itself
        assert _resolved(cfg) == expected
    size = 32 if "cifar" in name else 64
    built, shapes = _built_placement(cfg, size)
    assert built == expected
    if expected is not None:  # the attention is on the forward path, on a feature map
        assert len(shapes) == 1 and len(shapes[0]) == 4
        neck = cfg.model.get("neck") or {}
        if "in_channels" in neck:
            assert shapes[0][1] == neck["in_channels"]
