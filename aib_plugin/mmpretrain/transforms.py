"""``CropToBox``: crop an image to its object's box (the authors' CUB training and test data)."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CropToBox(BaseTransform):
    """Crop ``img`` to ``gt_bbox`` (x1, y1, x2, y2 in pixels), as the authors' ``CUB_crop`` data.

    The box is rounded to whole pixels (as PIL's ``Image.crop``, which the authors use) and
    clipped to the image; ``img_shape`` is updated and ``gt_bbox`` moves into the crop's
    coordinates. Put it right after ``LoadImageFromFile``; the dataset must supply ``gt_bbox``
    (``CUBWithBoxes`` does).

    Raises:
        KeyError: if the sample has no ``gt_bbox``.
        ValueError: if the box is not 4 numbers or is empty inside the image.
    """

    def transform(self, results: dict) -> dict:
        """Crop ``results['img']`` to ``results['gt_bbox']``."""
        if "gt_bbox" not in results:
            raise KeyError(
                "CropToBox needs the sample's gt_bbox (x1, y1, x2, y2); use a dataset that "
                "provides it, e.g. CUBWithBoxes"
            )
        box = np.asarray(results["gt_bbox"], dtype=np.float64).reshape(-1)
        if box.shape != (4,):
            raise ValueError(f"CropToBox: gt_bbox must be (x1, y1, x2, y2), got {box.tolist()}")
        img = results["img"]
        height, width = img.shape[:2]
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        x1, x2 = max(0, x1), min(width, x2)
        y1, y2 = max(0, y1), min(height, y2)
        if x2 <= x1 or y2 <= y1:
            raise ValueError(
                f"CropToBox: gt_bbox {box.tolist()} is empty inside the {width}x{height} image "
                f"{results.get('img_path', '')}"
            )
        results["img"] = img[y1:y2, x1:x2]
        results["img_shape"] = results["img"].shape[:2]
        results["gt_bbox"] = (box - np.array([x1, y1, x1, y1])).astype(np.float32)
        return results
