"""The project's pins agree with what MMPretrain itself requires."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

SETUP = Path(__file__).resolve().parents[1] / "setup.py"


def _our_requirement(name: str) -> Requirement:
    specs = re.findall(rf'"({re.escape(name)}[^"]*)"', SETUP.read_text())
    assert len(specs) == 1, f"setup.py should pin {name} once, found {specs}"
    return Requirement(specs[0])


def test_grad_cam_pin_is_within_mmpretrains_own() -> None:
    """MMPretrain's vis_cam.py passes use_cuda, which grad-cam 1.5 removed."""
    theirs = [
        Requirement(r.split(";")[0])
        for r in importlib.metadata.requires("mmpretrain")
        if r.startswith("grad-cam") and "optional" in r
    ]
    assert theirs, "mmpretrain's metadata no longer lists grad-cam"
    ours = _our_requirement("grad-cam")
    for probe in ("1.3.6", "1.3.7", "1.4.8", "1.5.0", "1.5.7"):
        version = Version(probe)
        assert ours.specifier.contains(version) == theirs[0].specifier.contains(version), probe
    installed = Version(importlib.metadata.version("grad-cam"))
    assert theirs[0].specifier.contains(installed)
