"""What ``tools/train.py`` and ``tools/test.py`` share: their common options and config loading."""

from __future__ import annotations

import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from aib_plugin.mmpretrain.launch import import_custom_modules


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank``, as MMPretrain's tools have them."""
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config settings, xxx=yyy (custom_imports given here are imported too)",
    )
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv`` and export ``LOCAL_RANK`` for the launcher."""
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def load_config(args: argparse.Namespace) -> Config:
    """The config with ``--cfg-options`` merged, its ``custom_imports`` imported and the work
    dir set (``--work-dir``, else ``./work_dirs/<config name>``)."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    import_custom_modules(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    return cfg
