"""The tools' one training path: a config, its run settings, MMEngine's ``Runner.from_cfg``.

``demo.py`` and ``benchmark.py quality`` both train and score this way
(:func:`train_and_score`: :func:`train`, the test split's maps by :func:`.maps.collect_maps`,
rows by :func:`.scores.score_rows`), so a benchmark number is what the configs give under
``tools/train.py``, up to the sizes a tool sets.
"""

from __future__ import annotations

import gc
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


def train_and_score(
    cfg: Any, run: dict[str, Any], every_map: bool = False
) -> tuple[list[dict[str, Any]], dict[str, list]]:
    """Train ``cfg``, collect its test maps and score them: the tools' one run.

    Args:
        cfg: the run's MMEngine ``Config`` (:func:`set_run` applied).
        run: the run's own row columns (``backbone``, ``variant``, ``seed``, ``reduction``,
            ``train_images``, ``epochs``); the minutes and the parameter count are added.
        every_map: also score an AIB model's Grad-CAM (the demo); False scores the map each
            model is judged by and skips the AIB model's Grad-CAM (:func:`.scores.map_sources`).

    Returns:
        The result rows (one per map) and the maps (:func:`.maps.collect_maps`).
    """
    from .maps import collect_maps
    from .scores import GRAD_CAM, map_sources, score_rows

    runner, seconds = train(cfg)
    sources = map_sources(run["variant"], every_map)
    start = time.perf_counter()
    maps = collect_maps(runner, cam=GRAD_CAM in sources)
    eval_seconds = time.perf_counter() - start
    params = sum(p.numel() for p in runner.model.parameters())
    run = dict(
        run,
        train_minutes=round(seconds / 60, 3),
        eval_minutes=round(eval_seconds / 60, 3),
        params=params,
    )
    rows = score_rows(maps, run, sources)
    del runner
    gc.collect()
    return rows, maps
