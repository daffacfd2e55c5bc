"""The tools' one training path: a config, its run settings, MMEngine's ``Runner.from_cfg``.

``demo.py`` and ``benchmark.py quality`` both train this way (then score the test split with
:func:`.maps.collect_maps`), so a benchmark number is what the configs give under
``tools/train.py``, up to the sizes a tool sets.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional, Union


def set_run(cfg: Any, work_dir: Union[str, Path], seed: int, epochs: Optional[int] = None) -> Any:
    """Set ``cfg``'s work dir, seed and epochs; validate and draw overlays once, at the end.

    Args:
        cfg: an MMEngine ``Config`` (changed in place and returned).
        work_dir: where the Runner writes logs (and checkpoints).
        seed: ``randomness.seed`` (``deterministic=False``).
        epochs: ``train_cfg.max_epochs``; None keeps the config's.
    """
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=seed, deterministic=False)
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs
    for hook in cfg.custom_hooks:
        if hook["type"] == "AttentionVisualizationHook":
            hook["interval"] = cfg.train_cfg.max_epochs
    return cfg


def train(cfg: Any) -> tuple[Any, float]:
    """Build the Runner from ``cfg`` and train; returns the runner and the seconds both took."""
    from mmengine.runner import Runner

    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner, time.perf_counter() - start
