"""Markdown tables and the mean ± standard deviation over seeds, as the tools print them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A markdown table: the header, the rule and one line per row of formatted cells."""
    lines = [_line(header), "|" + "---|" * len(header)]
    lines += [_line(row) for row in rows]
    return "\n".join(lines)


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) of per-seed values.

    The standard deviation of a single value is undefined; it is given as 0.0.
    """
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), std
