"""``tools/test.py``: evaluate a checkpoint with an MMPretrain config (MMEngine Runner).

    python tools/test.py configs/resnet18_aib_8xb16_cifar10.py work_dirs/.../epoch_200.pth
    python tools/test.py CONFIG CKPT --cfg-options model.neck.mc_samples=4   # the paper's 4 x 4

Checkpoints are loaded with ``weights_only=True`` (see aib_plugin.mmpretrain.checkpoint).
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
    """Command line of the test tool."""
    parser = argparse.ArgumentParser(description="Test a checkpoint (AIB + MMPretrain)")
    parser.add_argument("config", help="config file path")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--work-dir", help="the dir to save the evaluation logs")
    parser.add_argument("--out", help="dump the predictions to this pickle file")
    add_common_args(parser)
    return parse(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command line."""
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    fix_dataloaders(cfg, True, True)
    setup_distributed(cfg, args.launcher)
    return cfg


def main(argv: list[str] | None = None) -> dict:
    """Build the Runner, load the checkpoint, test, and return the metrics."""
    args = parse_args(argv)
    cfg = build_config(args)
    allow_mmengine_checkpoints()  # load_from under torch.load(weights_only=True)
    runner = Runner.from_cfg(cfg) if "runner_type" not in cfg else RUNNERS.build(cfg)
    if args.out:
        from mmengine.evaluator import DumpResults  # noqa: F401 (registered in mmengine)

        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    return runner.test()


if __name__ == "__main__":
    main()
