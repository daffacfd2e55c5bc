"""``ClutteredDigits``: the download-free cluttered-digits benchmark as an MMPretrain dataset.

Generation lives in :mod:`aib_plugin.datasets.cluttered_digits`; this class only hands the
images to MMPretrain's pipeline. Each sample carries ``img`` (H, W, 3 uint8), ``gt_label`` and
``gt_bbox`` (``x1, y1, x2, y2`` pixels); keep the box in the packed data sample with
``dict(type='PackInputs', meta_keys=('sample_idx', 'img_shape', 'gt_bbox'))``.
"""

from collections.abc import Sequence

import numpy as np
from mmpretrain.registry import DATASETS

from ..datasets import make_cluttered_digits
from ..datasets.aliases import keyword_aliases
from ..datasets.cluttered_digits import RENAMED_ARGUMENTS
from .generated import DIGIT_CLASSES, GeneratedBoxDataset

__all__ = ["DIGIT_CLASSES", "ClutteredDigits"]


@DATASETS.register_module()
class ClutteredDigits(GeneratedBoxDataset):
    """Real handwritten digits (scikit-learn's 8x8 set) among clutter on a larger canvas.

    The argument names are those of ``ClutteredMNIST``; the old names ``num_samples``,
    ``canvas_size``, ``num_clutter`` and ``clutter_size`` still work as aliases (giving an old
    name with its new one is a ``TypeError``).

    Args:
        split: ``'train'`` or ``'test'`` (disjoint source digits).
        num_images: number of images generated (alias ``num_samples``).
        canvas: side of the square canvas in pixels (alias ``canvas_size``).
        digit_scale: the 8x8 digit is upscaled to ``8 * digit_scale`` pixels.
        num_distractors: fragments of other digits per image (alias ``num_clutter``).
        distractor_size: side of each fragment (alias ``clutter_size``).
        noise_std: std of the pixel noise (0 to 255 scale).
        seed: generation seed; the same seed gives the same images.
        pipeline: MMPretrain transforms (no image loading needed).
        **kwargs: passed to MMPretrain's ``BaseDataset`` (``indices``, ``test_mode``, ...).
    """

    @keyword_aliases(**RENAMED_ARGUMENTS)
    def __init__(
        self,
        split: str = "train",
        num_images: int = 2000,
        canvas: int = 64,
        digit_scale: int = 3,
        num_distractors: int = 6,
        distractor_size: int = 10,
        noise_std: float = 10.0,
        seed: int = 0,
        pipeline: Sequence = (),
        **kwargs,
    ) -> None:
        self.generation = dict(
            num_images=num_images,
            split=split,
            canvas=canvas,
            digit_scale=digit_scale,
            num_distractors=num_distractors,
            distractor_size=distractor_size,
            noise_std=noise_std,
            seed=seed,
        )
        make_cluttered_digits(**{**self.generation, "num_images": 1})  # fail fast on bad args
        kwargs.setdefault("test_mode", split == "test")
        super().__init__(ann_file="", pipeline=pipeline, **kwargs)

    def load_data_list(self) -> list[dict]:
        """Generate the images in memory (as (H, W, 3))."""
        data = make_cluttered_digits(**self.generation)
        return self.samples(data, lambda image: np.repeat(image[:, :, None], 3, axis=2))
