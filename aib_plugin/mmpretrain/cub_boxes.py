"""``CUBWithBoxes``: MMPretrain's CUB-200-2011 dataset plus the bird's box in ``gt_bbox``."""

from __future__ import annotations

import numpy as np
from mmengine import list_from_file
from mmpretrain.datasets import CUB
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class CUBWithBoxes(CUB):
    """CUB-200-2011 (MMPretrain's ``CUB``) whose samples also carry the bounding box.

    Reads ``bounding_boxes.txt`` of the official release (lines ``<image_id> <x> <y> <width>
    <height>``, 1-based image ids as in ``images.txt``) besides the files ``CUB`` reads, and adds
    ``gt_bbox = (x, y, x + width, y + height)`` (float32, pixels of the original image) to each
    sample, as :class:`~aib_plugin.mmpretrain.LocalizationMetric` expects.

    The box stays in original-image coordinates and ``LocalizationMetric`` resizes each map to
    ``ori_shape``, so a localization test pipeline must not crop (no ``CenterCrop``, no
    ``ResizeEdge`` + crop): resize the whole image to a fixed size and keep ``ori_shape``,
    ``img_shape`` and ``gt_bbox`` in the packed data sample::

        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(448, 448)),
            dict(type='PackInputs',
                 meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'gt_bbox')),
        ]
        test_dataloader = dict(batch_size=8, dataset=dict(
            type='CUBWithBoxes', data_root='data/CUB_200_2011', split='test',
            pipeline=test_pipeline))
        test_evaluator = [dict(type='Accuracy', topk=(1, )), dict(type='LocalizationMetric')]

    Args:
        data_root: the ``CUB_200_2011`` folder (with ``images/``, ``images.txt``,
            ``image_class_labels.txt``, ``train_test_split.txt`` and ``bounding_boxes.txt``).
        split: ``'train'`` or ``'test'``.
        bbox_file: the box file, relative to ``data_root``.
        **kwargs: passed to ``CUB`` (``pipeline``, ``test_mode``, ``indices``, ...).

    Raises:
        FileNotFoundError: if the box file is missing.
        KeyError: if an image id of ``images.txt`` has no box.
        ValueError: if a line of the box file is malformed.
    """

    def __init__(
        self,
        data_root: str,
        split: str = "train",
        bbox_file: str = "bounding_boxes.txt",
        **kwargs,
    ) -> None:
        self.bbox_file = bbox_file
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _load_boxes(self) -> dict[int, np.ndarray]:
        """Read the box file into ``{0-based image id: (x1, y1, x2, y2)}``."""
        path = self.backend.join_path(self.data_root, self.bbox_file)
        if not self.backend.exists(path):
            raise FileNotFoundError(
                f"CUBWithBoxes: the bounding box file {path} does not exist (CUB-200-2011 ships "
                "it as bounding_boxes.txt: '<image_id> <x> <y> <width> <height>' per line)"
            )
        boxes = {}
        for number, line in enumerate(list_from_file(path), start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                if len(fields) != 5:
                    raise ValueError(f"expected 5 fields, got {len(fields)}")
                image_id = int(fields[0])
                x, y, w, h = (float(v) for v in fields[1:])
            except ValueError as err:
                raise ValueError(
                    f"CUBWithBoxes: {path} line {number} ({line!r}) is not "
                    f"'<image_id> <x> <y> <width> <height>': {err}"
                ) from None
            boxes[image_id - 1] = np.asarray([x, y, x + w, y + h], dtype=np.float32)
        return boxes

    def load_data_list(self) -> list[dict]:
        """Load image paths and labels (as ``CUB``) and add each image's ``gt_bbox``."""
        boxes = self._load_boxes()
        # CUB builds the list in images.txt order and drops the other split; recover each kept
        # sample's id the same way so a box is matched by id, never by position
        sample_ids = self._load_data_from_txt(self.ann_file)
        splits = self._load_data_from_txt(self.train_test_split_file)
        wanted = "1" if self.split == "train" else "0"
        kept_ids = [i for i in sample_ids if splits[i] == wanted]
        data_list = super().load_data_list()
        if len(kept_ids) != len(data_list):  # pragma: no cover - CUB changed its logic
            raise RuntimeError("CUBWithBoxes: cannot match CUB's samples to image ids")
        for image_id, info in zip(kept_ids, data_list, strict=True):
            if image_id not in boxes:
                raise KeyError(
                    f"CUBWithBoxes: image id {image_id + 1} ({sample_ids[image_id]}) has no box "
                    f"in {self.backend.join_path(self.data_root, self.bbox_file)}"
                )
            info["gt_bbox"] = boxes[image_id].copy()
        return data_list
