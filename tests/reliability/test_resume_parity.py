"""Resume parity: 2 epochs straight == 1 epoch + ``--resume`` + 1 epoch, bit for bit (CPU).

Runs through ``tools/train.py``'s config building (``build_config``, which applies ``--resume``)
and the real MMEngine Runner, on the quantized (``_qt``) CIFAR config, so anchors exist.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Optional

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import aib_plugin.mmpretrain  # noqa: F401  (registers the components, allowlists checkpoints)
import train as train_tool  # tools/ is on pytest's pythonpath (pyproject.toml)

from ..mmpretrain.mmp_helpers import TINY_CONFIG, tiny_options

pytestmark = pytest.mark.slow


class _Crash(Exception):
    pass


class _CrashAfterEpoch(Hook):
    """Kills the run after epoch ``epoch`` is checkpointed, like an interruption (the config
    keeps max_epochs=2, so the schedulers are built as in the uninterrupted run)."""

    priority = "LOWEST"  # after CheckpointHook

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            raise _Crash


def _train(
    data_root: Path,
    work_dir: Path,
    resume: bool,
    seed_hook: bool,
    crash_after: Optional[int] = None,
) -> None:
    argv = [str(TINY_CONFIG)] + (["--resume"] if resume else [])
    argv += ["--cfg-options", *tiny_options(data_root, work_dir, epochs=2)]
    argv += [
        # main-process loading: a worker's generators are not part of the run's seeded state
        "train_dataloader.num_workers=0",
        "val_dataloader.num_workers=0",
        "test_dataloader.num_workers=0",
        "randomness.deterministic=True",
        "param_scheduler.milestones=[1]",  # the lr changes between the two epochs
        "param_scheduler.gamma=0.5",
        "custom_hooks.0.interval=100",  # no attention PNGs: not part of this test
    ]
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    if seed_hook:
        cfg.custom_hooks.append(dict(type="EpochSeedHook"))
    runner = Runner.from_cfg(cfg)
    if crash_after is None:
        runner.train()
        return
    runner.register_hook(_CrashAfterEpoch(crash_after))
    with pytest.raises(_Crash):
        runner.train()


def _interrupted_and_resumed(data_root: Path, work_dir: Path, seed_hook: bool) -> None:
    _train(data_root, work_dir, resume=False, seed_hook=seed_hook, crash_after=1)
    assert (work_dir / "epoch_1.pth").is_file() and not (work_dir / "epoch_2.pth").exists()
    _train(data_root, work_dir, resume=True, seed_hook=seed_hook)  # --resume: latest checkpoint


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu")  # weights_only=True, torch's default


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_cifar: Path) -> dict[str, dict]:
    straight = tmp_path_factory.mktemp("straight")
    _train(tiny_cifar, straight, resume=False, seed_hook=True)
    resumed = tmp_path_factory.mktemp("resumed")
    _interrupted_and_resumed(tiny_cifar, resumed, seed_hook=True)
    return {
        "straight": _load(straight / "epoch_2.pth"),
        "resumed": _load(resumed / "epoch_2.pth"),
        "first_epoch": _load(resumed / "epoch_1.pth"),
    }


def test_resumed_weights_are_identical(runs: dict[str, dict]) -> None:
    straight, resumed = runs["straight"]["state_dict"], runs["resumed"]["state_dict"]
    assert straight.keys() == resumed.keys()
    for key, value in straight.items():
        assert torch.equal(value, resumed[key]), key
    # the second epoch really trained (a skipped epoch would not be caught otherwise)
    first = runs["first_epoch"]["state_dict"]
    assert not torch.equal(
        first["neck.bottleneck.fc.weight"], straight["neck.bottleneck.fc.weight"]
    )


def test_resumed_anchors_are_identical_and_trained(runs: dict[str, dict]) -> None:
    key = "neck.attention.quantizer.anchors"
    straight, resumed = runs["straight"]["state_dict"][key], runs["resumed"]["state_dict"][key]
    assert straight.shape == (20,)
    assert torch.equal(straight, resumed)
    assert not torch.equal(straight, torch.linspace(0, 1, 20))  # the codebook loss moved them


def test_resumed_optimizer_and_scheduler_are_identical(runs: dict[str, dict]) -> None:
    straight, resumed = runs["straight"], runs["resumed"]
    assert straight["optimizer"]["param_groups"] == resumed["optimizer"]["param_groups"]
    lrs = sorted({group["lr"] for group in straight["optimizer"]["param_groups"]})
    assert lrs == pytest.approx([0.05 * 1e-4, 0.05])  # milestone 1 passed; anchors at 1e-4 x lr
    state_a, state_b = straight["optimizer"]["state"], resumed["optimizer"]["state"]
    assert state_a.keys() == state_b.keys() and len(state_a) > 0
    for index, state in state_a.items():
        assert torch.equal(state["momentum_buffer"], state_b[index]["momentum_buffer"]), index
    assert straight["param_schedulers"] == resumed["param_schedulers"]
    for ckpt in (straight, resumed):
        assert (ckpt["meta"]["epoch"], ckpt["meta"]["iter"]) == (2, 10)


def test_without_the_seed_hook_a_resume_drifts(tmp_path: Path, tiny_cifar: Path) -> None:
    """Why EpochSeedHook exists: MMEngine does not store the generators in checkpoints, so the
    resumed epoch replays the first epoch's IB noise and the weights differ."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    _train(tiny_cifar, straight, resume=False, seed_hook=False)
    _interrupted_and_resumed(tiny_cifar, resumed, seed_hook=False)
    a = _load(straight / "epoch_2.pth")["state_dict"]
    b = _load(resumed / "epoch_2.pth")["state_dict"]
    assert any(not torch.equal(a[key], b[key]) for key in a)


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_safe_loading_stays_on_after_a_resume(runs: dict[str, dict], tmp_path: Path) -> None:
    """After importing aib_plugin.mmpretrain and resuming, torch.load still refuses pickles that
    run code (the allowlist is narrow; nothing switched weights_only off)."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": _RunsCode(str(marker))}, path)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        torch.load(path)
    assert not marker.exists()
    assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") is None
