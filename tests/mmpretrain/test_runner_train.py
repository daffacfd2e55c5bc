"""Training through the real MMEngine Runner (tools/train.py), resume, and tools/test.py."""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import train as train_tool  # tools/ is on pytest's pythonpath (pyproject.toml)
from aibtools import evaluate as test_tool

from .mmp_helpers import CONFIGS, TINY_CONFIG, tiny_options

SCHEDULE = ["param_scheduler.milestones=[1]", "param_scheduler.gamma=0.5"]


class Recorder(Hook):
    """Records beta before each iteration (after WarmupParamHook) and the loss keys after."""

    priority = "LOWEST"

    def __init__(self, beta_module: str = "neck") -> None:
        self.beta_module = beta_module
        self.betas: list[float] = []
        self.loss_keys: set[str] = set()
        self.start: dict = {}

    def before_train(self, runner) -> None:
        self.start = dict(
            epoch=runner.epoch,
            iter=runner.iter,
            optimizer=copy.deepcopy(runner.optim_wrapper.state_dict()),  # live tensors
            schedulers=copy.deepcopy([s.state_dict() for s in runner.param_schedulers]),
        )

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.betas.append(getattr(runner.model, self.beta_module).objective.beta)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.loss_keys |= set(outputs)


def _run(work_dir: Path, cifar_root: Path, epochs: int, extra: list[str], name: str, hooks=()):
    argv = [str(TINY_CONFIG), "--cfg-options", *tiny_options(cifar_root, work_dir, epochs)]
    argv += [*SCHEDULE, f"experiment_name={name}", *extra]
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    cfg.custom_hooks.append(
        dict(
            type="WarmupParamHook",
            module_name="neck.objective",
            param_name="beta",
            warmup_epochs=1,
        )
    )
    runner = Runner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, cifar_root):
    work_dir = tmp_path_factory.mktemp("train")
    runner, recorder = _run(work_dir, cifar_root, 2, [], "first")
    return work_dir, runner, recorder


def test_training_logs_each_ib_term(first_run) -> None:
    work_dir, runner, recorder = first_run
    assert {"loss", "loss_cls", "loss_kl", "loss_vq", "loss_commit"} <= recorder.loss_keys
    scalars = runner.message_hub.log_scalars
    for key in ("loss_cls", "loss_kl", "loss_vq", "loss_commit"):
        assert f"train/{key}" in scalars
    for key in ("kl_bits", "attn_mean", "attn_sparsity", "anchor_active", "anchor_perplexity"):
        assert f"train/ib_{key}" in scalars, key
    assert 1 <= scalars["train/ib_anchor_active"].current() <= 20
    assert 0.0 <= scalars["train/ib_attn_sparsity"].current() <= 1.0
    log = next(work_dir.glob("*/*.log")).read_text()
    assert "loss_kl:" in log and "ib_kl_bits:" in log and "ib_anchor_perplexity:" in log
    assert runner.epoch == 2 and runner.iter == 10
    assert (work_dir / "epoch_1.pth").is_file() and (work_dir / "epoch_2.pth").is_file()


def test_beta_warms_up_with_mmpretrains_hook(first_run) -> None:
    _, runner, recorder = first_run
    betas = recorder.betas
    assert len(betas) == 10 and betas[0] == 0.0
    assert all(a < b for a, b in zip(betas[:5], betas[1:6], strict=True))
    assert betas[5:] == [pytest.approx(0.01)] * 5


def test_visualization_hook_writes_pngs_every_epoch(first_run) -> None:
    work_dir, _, _ = first_run
    pngs = sorted(p.name for p in work_dir.glob("*/vis_data/vis_image/*.png"))
    assert pngs == [f"attention_{i}_{e}.png" for i in (0, 1) for e in (1, 2)]
    image = cv2.imread(str(next(work_dir.glob("*/vis_data/vis_image/attention_0_2.png"))))
    assert image.shape == (32, 96, 3)  # image | map | overlay
    assert not (image[:, 32:64] == image[:, :32]).all()


def test_resume_restores_epoch_optimizer_and_scheduler(first_run, tmp_path, cifar_root) -> None:
    from aib_plugin.mmpretrain import mmengine_safe_globals

    work_dir, _, _ = first_run
    ckpt_path = work_dir / "epoch_1.pth"
    runner, recorder = _run(
        tmp_path, cifar_root, 2, [f"load_from={ckpt_path}", "resume=True"], "resumed"
    )
    with mmengine_safe_globals():
        ckpt = torch.load(ckpt_path, map_location="cpu")  # weights_only=True (torch default)
    start = recorder.start
    assert (start["epoch"], start["iter"]) == (1, 5)
    assert start["schedulers"] == ckpt["param_schedulers"]
    saved, resumed = ckpt["optimizer"], start["optimizer"]
    assert resumed["param_groups"] == saved["param_groups"]
    assert resumed["param_groups"][0]["lr"] == pytest.approx(0.05)  # milestone 1 passed
    assert saved["state"].keys() == resumed["state"].keys() and saved["state"]
    for key, state in saved["state"].items():
        assert torch.equal(state["momentum_buffer"], resumed["state"][key]["momentum_buffer"])
    assert len(recorder.betas) == 5 and runner.epoch == 2 and runner.iter == 10


def test_test_tool_evaluates_a_checkpoint(first_run, tmp_path, cifar_root) -> None:
    work_dir, _, _ = first_run
    argv = [str(TINY_CONFIG), str(work_dir / "epoch_2.pth"), "--work-dir", str(tmp_path)]
    argv += ["--cfg-options", *tiny_options(cifar_root, tmp_path), "experiment_name=test"]
    metrics = test_tool.main(argv)
    assert 0.0 <= metrics["accuracy/top1"] <= 100.0


def test_timm_aib_config_trains_with_the_ib_hooks(tmp_path, cifar_root) -> None:
    """The TimmClassifier config, with the tiny CIFAR data of the CIFAR config."""

    def config(path, options):
        return train_tool.build_config(
            train_tool.parse_args([str(path), "--cfg-options", *options])
        )

    cifar = config(TINY_CONFIG, tiny_options(cifar_root, tmp_path))
    cfg = config(
        CONFIGS / "timm-resnet18_aib_8xb32_in1k.py",
        [
            o
            for o in tiny_options(cifar_root, tmp_path)
            if not o.startswith(("model.", "train_d", "val_d", "test_d"))
        ]
        + [
            "model.num_classes=10",
            "model.num_anchors=4",
            "model.learn_anchors=True",
            "experiment_name=timm",
        ],
    )
    for key in ("train_dataloader", "val_dataloader", "test_dataloader", "data_preprocessor"):
        cfg[key] = cifar[key]
    runner = Runner.from_cfg(cfg)
    recorder = Recorder(beta_module="model")
    runner.register_hook(recorder)
    runner.train()
    assert {"loss_cls", "loss_kl", "loss_vq", "loss_commit"} <= recorder.loss_keys
    assert "train/ib_anchor_perplexity" in runner.message_hub.log_scalars
    assert recorder.betas == [0.01] * 5
    pngs = sorted(p.name for p in tmp_path.glob("*/vis_data/vis_image/*.png"))
    assert pngs == ["attention_0_1.png", "attention_1_1.png"]
