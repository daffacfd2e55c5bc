"""Distributed parity: ``torchrun --nproc_per_node=2 tools/train.py`` (gloo, CPU) with half the
batch per rank matches ``tools/train.py`` with the full batch in one process.

The model (``parity_components.ParityIBClassifier``) has batch-independent norms and no IB noise,
so the only difference between the runs is how the ranks combine losses and gradients: MMEngine's
``parse_losses`` sums the loss dict (``loss_cls + loss_kl + loss_vq + loss_commit``) per rank and
DDP averages the gradients over ranks, so the effective IB terms are the *mean* of the ranks'
terms (a batch mean), not their sum. The logged values are rank 0's own (MMEngine does not
all-reduce log variables).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

import aib_plugin.mmpretrain  # noqa: F401  (allowlists checkpoint types)

from ..mmpretrain.mmp_helpers import (
    HELPERS_MODULE,
    PYTHON,
    REPO,
    TINY_CONFIG,
    free_port,
    subprocess_env,
    tiny_options,
)

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
IB_KEYS = ("loss_cls", "loss_kl", "loss_vq", "loss_commit")
#: Tolerances: float32 sums in another order (all-reduce of two halves vs one batch).
LOSS_RTOL = 1e-4
WEIGHT_ATOL = 1e-4
WEIGHT_RTOL = 1e-3


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "parity_config.py"
    path.write_text(
        f"_base_ = [{str(TINY_CONFIG)!r}]\n"
        "custom_imports = dict(imports=['aib_plugin.mmpretrain', 'parity_components', "
        f"{HELPERS_MODULE!r}], allow_failed_imports=False)\n"
        "model = dict(type='ParityIBClassifier')\n"
        "train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))\n"
        "custom_hooks = [dict(type='AttentionVisualizationHook', indices=[0, 2]),\n"
        "                dict(type='ParityProbeHook')]\n"
    )
    return path


def _run(cmd: list[str], **env: str) -> None:
    full_env = {**subprocess_env(), **env}
    full_env["PYTHONPATH"] = os.pathsep.join([str(HERE), full_env["PYTHONPATH"]])
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd[:6]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def _options(data_root: Path, work_dir: Path, batch_size: int) -> list[str]:
    return [
        "--cfg-options",
        *tiny_options(data_root, work_dir),
        f"train_dataloader.batch_size={batch_size}",
        "train_dataloader.num_workers=0",
        "val_dataloader.num_workers=0",
        "randomness.deterministic=True",
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_cifar: Path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("parity")
    config = str(_config(tmp))
    single, ddp = tmp / "single", tmp / "ddp"
    _run([PYTHON, "tools/train.py", config, *_options(tiny_cifar, single, 8)])
    torchrun = [PYTHON, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    torchrun += [f"--master_port={free_port()}", "tools/train.py", config, "--launcher", "pytorch"]
    _run(torchrun + _options(tiny_cifar, ddp, 4))
    return {"single": single, "ddp": ddp}


def _probe(work_dir: Path, rank: int) -> dict:
    return json.loads((work_dir / f"probe_rank{rank}.json").read_text())


def test_ranks_stay_identical_and_match_the_single_process_weights(runs) -> None:
    single = torch.load(runs["single"] / "weights_rank0.pth")
    rank0 = torch.load(runs["ddp"] / "weights_rank0.pth")
    rank1 = torch.load(runs["ddp"] / "weights_rank1.pth")
    assert single.keys() == rank0.keys() == rank1.keys()
    start = torch.load(runs["single"] / "epoch_1.pth")["state_dict"]
    for key, value in single.items():
        assert torch.equal(rank0[key], rank1[key]), key  # DDP keeps the replicas in sync
        torch.testing.assert_close(rank0[key], value, atol=WEIGHT_ATOL, rtol=WEIGHT_RTOL)
        assert torch.equal(start[key], value), key  # the checkpoint holds the final weights
    # the anchors learn only from loss_vq: averaged over ranks, they move as in one process
    anchors = "neck.attention.quantizer.anchors"
    assert not torch.equal(single[anchors], torch.linspace(0, 1, 20))
    torch.testing.assert_close(rank0[anchors], single[anchors], atol=1e-7, rtol=1e-5)


def test_ib_terms_are_averaged_over_ranks_not_summed(runs) -> None:
    single = _probe(runs["single"], 0)["losses"]
    rank0, rank1 = _probe(runs["ddp"], 0)["losses"], _probe(runs["ddp"], 1)["losses"]
    assert len(single) == len(rank0) == len(rank1) == 5  # 40 images: 5 x 8, or 5 x (2 x 4)
    for step, (full, a, b) in enumerate(zip(single, rank0, rank1, strict=True)):
        for key in IB_KEYS:
            mean = (a[key] + b[key]) / 2
            assert mean == pytest.approx(full[key], rel=LOSS_RTOL), (step, key)
            assert a[key] + b[key] != pytest.approx(full[key], rel=0.1), (step, key)
        assert a["loss"] == pytest.approx(sum(a[key] for key in IB_KEYS), rel=1e-6)


def test_the_log_shows_rank_zeros_ib_terms(runs) -> None:
    log = next(runs["ddp"].glob("*/*.log")).read_text()
    assert "Distributed training: True" in log and "backend': 'gloo'" in log
    first = _probe(runs["ddp"], 0)["losses"][0]
    assert f"loss_kl: {first['loss_kl']:.4f}" in log
    assert "Epoch(train) [1][5/5]" in log


def test_hooks_write_once(runs) -> None:
    """The attention overlays are drawn on rank 0 only; checkpoints are written once."""
    # indices 0 and 2: both validated by rank 0 (DefaultSampler gives it samples 0, 2, 4, 6)
    assert _probe(runs["ddp"], 0)["images"] == 2
    assert _probe(runs["ddp"], 1)["images"] == 0
    assert _probe(runs["single"], 0)["images"] == 2
    pngs = sorted(p.name for p in runs["ddp"].glob("*/vis_data/vis_image/*.png"))
    assert pngs == ["attention_0_1.png", "attention_2_1.png"]
    assert sorted(p.name for p in runs["ddp"].glob("*.pth")) == [
        "epoch_1.pth",
        "weights_rank0.pth",
        "weights_rank1.pth",
    ]
