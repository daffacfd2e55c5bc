"""A PNG grid of pictures: one row per image, one panel per column (image, map or overlay)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np


@dataclass
class Panel:
    """One picture of the grid.

    Attributes:
        image: (H, W) grey levels in [0, 255] or (H, W, 3) RGB; ``None`` draws the map alone.
        saliency: a map in [0, 1] at the image's size, in the jet colours; ``None`` for none.
        alpha: the map's opacity (``None``: opaque).
        box: ``(x1, y1, x2, y2)`` in pixels, drawn in green; ``None`` for none.
        caption: the text under the panel.
    """

    image: Optional[np.ndarray] = None
    saliency: Optional[np.ndarray] = None
    alpha: Optional[float] = None
    box: Optional[np.ndarray] = None
    caption: Optional[str] = None


def draw_grid(
    panels: Sequence[Sequence[Panel]],
    titles: Sequence[str],
    row_labels: Sequence[str],
    path: Path,
    panel_inches: float,
    box_width: float = 1.0,
) -> None:
    """Write ``panels`` (one list per row) as a PNG, column titles on top (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows, columns = len(panels), len(titles)
    fig, axes = plt.subplots(
        rows, columns, figsize=(panel_inches * columns, panel_inches * rows), squeeze=False
    )
    for r, row in enumerate(panels):
        for c, panel in enumerate(row):
            ax = axes[r, c]
            if panel.image is not None and panel.image.ndim == 2:
                ax.imshow(panel.image, cmap="gray", vmin=0, vmax=255)
            elif panel.image is not None:
                ax.imshow(panel.image)
            if panel.saliency is not None:
                ax.imshow(panel.saliency, cmap="jet", vmin=0, vmax=1, alpha=panel.alpha)
            if panel.box is not None:
                x1, y1, x2, y2 = panel.box
                ax.add_patch(
                    Rectangle(
                        (x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, ec="lime", lw=box_width
                    )
                )
            if panel.caption is not None:
                ax.set_xlabel(panel.caption, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
