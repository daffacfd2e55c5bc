"""What the in-memory box datasets (``ClutteredDigits``, ``ClutteredMNIST``) share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from mmpretrain.datasets import BaseDataset

#: The classes of both digit datasets.
DIGIT_CLASSES = tuple(str(d) for d in range(10))


class GeneratedBoxDataset(BaseDataset):
    """An MMPretrain dataset whose samples a generator makes in memory, each with its box.

    Subclasses set ``self.generation`` (the generator's keyword arguments, shown in ``repr``)
    and turn a generated split into samples with :meth:`samples`.
    """

    METAINFO = {"classes": DIGIT_CLASSES}
    generation: dict[str, Any]

    @staticmethod
    def samples(data: Any, image: Callable[[np.ndarray], np.ndarray]) -> list[dict]:
        """One data info per generated image: ``img`` (``image(raw)``), shapes, label, box."""
        return [
            dict(
                img=image(raw),
                img_shape=raw.shape,
                ori_shape=raw.shape,
                gt_label=int(label),
                gt_bbox=np.asarray(box, dtype=np.float32),
                source_index=int(source),
            )
            for raw, label, box, source in zip(
                data.images, data.labels, data.boxes, data.source_indices, strict=True
            )
        ]

    def extra_repr(self) -> list[str]:
        """The generation arguments, shown in ``repr(dataset)``."""
        return [f"{key}: {value}" for key, value in self.generation.items()]
