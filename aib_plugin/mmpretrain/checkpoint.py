"""Load MMEngine checkpoints under ``torch.load(weights_only=True)`` (torch >= 2.6).

MMEngine checkpoints hold, besides tensors, the MessageHub state: ``HistoryBuffer`` objects with
numpy arrays and references to ``HistoryBuffer`` methods (pickled as ``getattr(HistoryBuffer,
'mean')``). torch's safe unpickler refuses those, so ``--resume`` fails. This module allowlists
exactly those types with :func:`torch.serialization.add_safe_globals`; ``getattr`` is replaced by
a restricted version that only returns ``HistoryBuffer`` statistics methods, so no general
``getattr`` (a path to arbitrary code) is ever allowed. Nothing sets ``weights_only=False``.

Importing the adapter changes nothing here: the IB classifiers (``IBImageClassifier``,
``IBTimmClassifier``) call :func:`allow_mmengine_checkpoints` when they are built, which the
Runner does before it resumes, and this package's ``tools/train.py`` and evaluation tools call
it before they load a checkpoint.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Callable, Iterator
from typing import Any, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar


def history_buffer_getattr(owner: object, name: str) -> Callable:
    """``getattr`` restricted to the statistics methods of ``HistoryBuffer``.

    Raises:
        pickle.UnpicklingError: for anything else.
    """
    allowed = {"min", "max", "current", "mean", *HistoryBuffer._statistics_methods}
    if owner is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f"aib_plugin: refusing getattr({owner!r}, {name!r}) while loading a checkpoint; only "
        "HistoryBuffer statistics methods are allowed"
    )


_NUMPY_DTYPE_CLASSES = tuple(
    {type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGUSV"} | {type(np.dtype("M8[s]"))}
)


def mmengine_checkpoint_globals() -> list[Union[Any, tuple[Any, str]]]:
    """The non-tensor globals found in MMEngine checkpoints, for ``add_safe_globals``."""
    return [
        HistoryBuffer,
        (history_buffer_getattr, "builtins.getattr"),
        np.ndarray,
        np.dtype,
        *_NUMPY_DTYPE_CLASSES,
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        (scalar, "numpy._core.multiarray.scalar"),
        (scalar, "numpy.core.multiarray.scalar"),
    ]


def allow_mmengine_checkpoints() -> None:
    """Allowlist the MMEngine checkpoint globals process-wide (idempotent).

    Called when an IB classifier is built, so ``--resume`` works with this package's tools and
    with MMPretrain's own ``tools/train.py`` (through ``custom_imports``).
    """
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


@contextlib.contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """Allowlist the MMEngine checkpoint globals only inside a ``with`` block.

    Globals that were already allowed (e.g. by :func:`allow_mmengine_checkpoints`) stay allowed
    after the block (torch's own context manager would remove them).
    """
    present = set(torch.serialization.get_safe_globals())
    missing = [g for g in mmengine_checkpoint_globals() if g not in present]
    with torch.serialization.safe_globals(missing):
        yield
