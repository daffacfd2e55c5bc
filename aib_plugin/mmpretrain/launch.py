"""Helpers for the training/test entry points: CPU (gloo) DDP setup and dataloader defaults."""

from __future__ import annotations

import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and, without GPUs, the process group) for a distributed run.

    MMEngine calls ``torch.cuda.set_device`` before it starts the process group, which fails on
    machines without GPUs. There, this starts a gloo group from the torchrun environment before
    the Runner exists (the Runner then skips its own ``init_dist``), switches ``dist_cfg`` to
    gloo and wraps the model with ``device_ids=None``. With GPUs nothing changes.

    Args:
        cfg: the config, edited in place.
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    cfg.launcher = launcher
    if launcher == "none" or torch.cuda.is_available():
        return
    if launcher != "pytorch":
        raise RuntimeError(f"CPU distributed runs support --launcher pytorch only, got {launcher}")
    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    wrapper = dict(cfg.get("model_wrapper_cfg") or {})
    wrapper.setdefault("type", "MMDistributedDataParallel")
    wrapper["device_ids"] = None
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend="gloo",
            rank=int(os.environ["RANK"]),
            world_size=int(os.environ["WORLD_SIZE"]),
        )


def fix_dataloaders(cfg: Config, pin_memory: bool, persistent_workers: bool) -> None:
    """Set MMPretrain's dataloader defaults, keeping ``persistent_workers`` legal.

    MMPretrain's ``tools/train.py`` forces ``persistent_workers=True``, which PyTorch refuses for
    ``num_workers=0``; here it is only set where the loader has workers.
    """
    for field in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(field)
        if loader is None:
            continue
        loader.setdefault("pin_memory", pin_memory and torch.cuda.is_available())
        loader.setdefault("collate_fn", dict(type="default_collate"))
        if loader.get("num_workers", 0) == 0:
            loader["persistent_workers"] = False
        else:
            loader.setdefault("persistent_workers", persistent_workers)


def import_custom_modules(cfg: Config) -> None:
    """Import ``cfg.custom_imports`` again, so ones given by ``--cfg-options`` take effect."""
    custom = cfg.get("custom_imports")
    if custom:
        import_modules_from_strings(**custom)
