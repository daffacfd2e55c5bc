"""The flags the tools share, with one meaning in each (``demo.py``, ``benchmark.py``,
``visualize_attention.py``).

- ``--threads N``: ``torch.set_num_threads(N)``; without it torch keeps its own default (no
  environment variable is set by any tool).
- ``--seeds S [S ...]`` (alias ``--seed``): every model is trained once per seed.
- ``--train-images N`` / ``--test-images N`` (aliases ``--train-samples`` / ``--test-samples``):
  the images of the training split, and of the validation and test splits.
- ``--cfg-options KEY=VALUE ...``: config overrides of every model, plain and AIB alike,
  merged after ``--aib-options``; each is named in the result rows' ``reduction``.
- ``--max-plain-error PCT``: a seed whose plain model has a higher top-1 error has not learned
  the task; its targets are not judged (default 10).
- ``--aib-options KEY=VALUE ...``: config overrides of the AIB models only. A dotted key is a
  config path (``model.neck.kl=vib``); a bare keyword (``area_weight=0``) is a keyword of the
  AIB model, put where its config keeps them (``model.neck.KEY`` for MMPretrain's neck,
  ``model.KEY`` for a timm ``<arch>_aib`` model), so one option reaches both frameworks.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, Optional

from .scores import MAX_PLAIN_ERROR

AIB_OPTIONS_HELP = (
    "config overrides of the AIB models only (plain, SE and CBAM models are unchanged): a "
    "dotted key is a config path (model.neck.kl=vib); a bare keyword is the AIB model's "
    "(area_weight=0: model.neck.area_weight for MMPretrain's neck, model.area_weight for timm)"
)
CFG_OPTIONS_HELP = (
    "config overrides of every model, plain and AIB alike, merged after --aib-options, each "
    "named in the rows' reduction (e.g. optim_wrapper.optimizer.lr=5e-4)"
)
THREADS_HELP = "torch threads (default: torch's own default; no environment variable is set)"


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N`` (default None: leave torch's thread count alone)."""
    parser.add_argument("--threads", type=int, default=None, metavar="N", help=THREADS_HELP)


def set_threads(threads: Optional[int]) -> int:
    """Set torch's thread count if ``threads`` is given; returns the count torch now uses.

    Raises:
        ValueError: if ``threads`` is below 1.
    """
    import torch

    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def add_run_options(
    parser: argparse.ArgumentParser, seeds_help: str, train_help: str, test_help: str
) -> None:
    """``--seeds`` (alias ``--seed``), ``--train-images`` / ``--test-images`` (aliases
    ``--train-samples`` / ``--test-samples``), ``--max-plain-error``, ``--cfg-options`` and
    ``--aib-options``.

    The sizes and seeds default to None (the tool's preset fills them); the options to ``{}``.
    """
    from mmengine.config import DictAction

    add = parser.add_argument
    add("--seeds", "--seed", dest="seeds", type=int, nargs="+", default=None, help=seeds_help)
    add("--train-images", "--train-samples", dest="train_images", type=int, help=train_help)
    add("--test-images", "--test-samples", dest="test_images", type=int, help=test_help)
    add(
        "--max-plain-error",
        type=float,
        default=MAX_PLAIN_ERROR,
        metavar="PCT",
        help="a seed whose plain model has a higher top-1 error (%%) has not learned the task: "
        f"its targets are not judged ('not learned'; default {MAX_PLAIN_ERROR:g})",
    )
    add(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help=CFG_OPTIONS_HELP,
    )
    add(
        "--aib-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help=AIB_OPTIONS_HELP,
    )


def aib_overrides(options: Mapping[str, Any], neck: bool) -> dict[str, Any]:
    """``--aib-options`` as config overrides of one AIB model.

    Args:
        options: the option keys and values; a dotted key is kept as it is, a bare keyword gets
            the prefix of the AIB model's keywords.
        neck: True when the model's IB keywords live in ``model.neck`` (MMPretrain's
            ``IBAttention``), False when in ``model`` (a timm ``<arch>_aib`` model).
    """
    prefix = "model.neck." if neck else "model."
    return {(key if "." in key else prefix + key): value for key, value in options.items()}
