import numpy as np
import pytest
from mmpretrain.registry import DATASETS

import aib_plugin.mmpretrain  # noqa: F401  (registers ClutteredMNIST)
from aib_plugin.datasets import make_cluttered_mnist

PACK = dict(type="PackInputs", meta_keys=("sample_idx", "img_shape", "gt_bbox"))


def test_registered_dataset_packs_images_labels_and_boxes():
    cfg = dict(type="ClutteredMNIST", split="test", num_images=6, seed=2, pipeline=[PACK])
    dataset = DATASETS.build(cfg)
    raw = make_cluttered_mnist("test", num_images=6, seed=2)
    assert len(dataset) == 6 and dataset.test_mode
    assert dataset.metainfo["classes"] == tuple("0123456789")
    assert dataset.get_data_info(0)["img"].shape == (60, 60, 3)
    for i in range(6):
        item = dataset[i]
        assert item["inputs"].shape == (3, 60, 60)
        for channel in range(3):
            assert np.array_equal(item["inputs"][channel].numpy(), raw.images[i])
        assert int(item["data_samples"].gt_label) == raw.labels[i]
        assert np.array_equal(item["data_samples"].gt_bbox, raw.boxes[i])
        assert item["data_samples"].img_shape == (60, 60)
    assert "num_distractors: 4" in repr(dataset)


def test_the_100px_variant_runs_through_a_resize_pipeline():
    pipeline = [dict(type="Resize", scale=50), PACK]
    cfg = dict(
        type="ClutteredMNIST", canvas=100, num_distractors=8, num_images=3, pipeline=pipeline
    )
    dataset = DATASETS.build(cfg)
    assert not dataset.test_mode  # the train split
    assert dataset[0]["inputs"].shape == (3, 50, 50)
    assert dataset.get_data_info(2)["img"].shape == (100, 100, 3)


def test_data_root_and_val_split(tmp_path):
    val = DATASETS.build(dict(type="ClutteredMNIST", split="val", num_images=2, pipeline=[PACK]))
    assert val.test_mode
    assert val.get_data_info(0)["source_index"] == 50_000  # val = the training file's last 10k
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        DATASETS.build(dict(type="ClutteredMNIST", data_root=str(tmp_path), num_images=2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(canvas=20), "canvas"),
        (dict(split="validation"), "split"),
        (dict(split="test", num_images=10_001), "num_images"),
    ],
)
def test_rejects_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DATASETS.build(dict(type="ClutteredMNIST", **kwargs))
