"""Train an MMPretrain config with the AIB components (MMEngine Runner).

    python tools/train.py configs/resnet18_aib_8xb16_cifar10.py
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch   # GPUs or CPU (gloo)

Differences to MMPretrain's tools/train.py: works with CPU DDP (gloo), ``custom_imports`` given
through ``--cfg-options`` are imported, ``persistent_workers`` is only set for loaders with
workers, and ``--resume`` loads with ``weights_only=True`` (see aib_plugin.mmpretrain.checkpoint).
"""

from __future__ import annotations

import argparse

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from aib_plugin.mmpretrain.checkpoint import allow_mmengine_checkpoints
from aib_plugin.mmpretrain.launch import (
    fix_dataloaders,
    setup_distributed,
)
from aibtools.cli import add_common_args, load_config, parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the training tool."""
    parser = argparse.ArgumentParser(description="Train a model (AIB + MMPretrain)")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--work-dir", help="the dir to save logs and models")
    parser.add_argument(
        "--resume",
        nargs="?",
        type=str,
        const="auto",
        help="resume from this checkpoint, or from the latest one in the work dir if no path",
    )
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision")
    parser.add_argument("--no-validate", action="store_true", help="skip validation")
    parser.add_argument("--auto-scale-lr", action="store_true", help="scale lr by batch size")
    parser.add_argument("--no-pin-memory", action="store_true", help="disable pin_memory")
    parser.add_argument(
        "--no-persistent-workers", action="store_true", help="disable persistent_workers"
    )
    add_common_args(parser)
    return parse(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command line."""
    cfg = load_config(args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    fix_dataloaders(cfg, not args.no_pin_memory, not args.no_persistent_workers)
    setup_distributed(cfg, args.launcher)
    return cfg


def main(argv: list[str] | None = None) -> None:
    """Build the Runner from the config and train."""
    cfg = build_config(parse_args(argv))
    allow_mmengine_checkpoints()  # --resume / load_from under torch.load(weights_only=True)
    runner = Runner.from_cfg(cfg) if "runner_type" not in cfg else RUNNERS.build(cfg)
    runner.train()


if __name__ == "__main__":
    main()
