import numpy as np
import pytest
from mmpretrain.registry import DATASETS

import aib_plugin.mmpretrain  # noqa: F401  (registers ClutteredDigits)
from aib_plugin.datasets import make_cluttered_digits

PACK = dict(type="PackInputs", meta_keys=("sample_idx", "img_shape", "gt_bbox"))


def test_registered_dataset_packs_images_labels_and_boxes():
    cfg = dict(type="ClutteredDigits", split="test", num_samples=6, seed=2, pipeline=[PACK])
    dataset = DATASETS.build(cfg)
    raw = make_cluttered_digits(6, "test", seed=2)
    assert len(dataset) == 6 and dataset.test_mode
    assert dataset.metainfo["classes"] == tuple("0123456789")
    for i in range(6):
        item = dataset[i]
        assert item["inputs"].shape == (3, 64, 64)
        assert np.array_equal(item["inputs"][0].numpy(), raw.images[i])
        assert int(item["data_samples"].gt_label) == raw.labels[i]
        assert np.array_equal(item["data_samples"].gt_bbox, raw.boxes[i])


def test_runs_through_resize_pipeline_and_rejects_bad_args():
    pipeline = [dict(type="Resize", scale=32), PACK]
    dataset = DATASETS.build(dict(type="ClutteredDigits", num_samples=2, pipeline=pipeline))
    assert dataset[0]["inputs"].shape == (3, 32, 32)
    with pytest.raises(ValueError, match="canvas_size"):
        DATASETS.build(dict(type="ClutteredDigits", canvas_size=10))
