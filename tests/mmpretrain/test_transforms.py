"""``CropToBox`` and the CUB configs' pipelines on a tiny CUB-format folder."""

from __future__ import annotations

from pathlib import Path

import mmcv
import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS, TRANSFORMS

from .mmp_helpers import CONFIGS
from .test_cub_boxes import IMAGES, TEST_IDS, write_cub


@pytest.fixture(scope="module")
def cub_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cub(tmp_path_factory.mktemp("CUB_200_2011"))


def test_crop_to_box_cuts_the_box_out_and_moves_it() -> None:
    img = np.arange(40 * 50 * 3, dtype=np.uint8).reshape(40, 50, 3)
    crop = TRANSFORMS.build(dict(type="CropToBox"))
    out = crop({"img": img, "gt_bbox": np.array([10.4, 5.6, 30.5, 60.0], np.float32)})
    np.testing.assert_array_equal(out["img"], img[6:40, 10:30])  # rounded, clipped to 40 rows
    assert out["img_shape"] == (34, 20)
    np.testing.assert_allclose(out["gt_bbox"], [0.4, -0.4, 20.5, 54.0], atol=1e-5)
    with pytest.raises(KeyError, match="CropToBox needs the sample's gt_bbox"):
        crop({"img": img})
    with pytest.raises(ValueError, match=r"gt_bbox \[60.0, 0.0, 70.0, 10.0\] is empty"):
        crop({"img": img, "gt_bbox": np.array([60, 0, 70, 10], np.float32)})


@pytest.mark.parametrize("split", ["train", "test"])
def test_the_authors_cub_config_crops_every_image_to_its_bird(cub_root: Path, split: str) -> None:
    cfg = Config.fromfile(str(CONFIGS / "wide-resnet50_aib_1xb16_cub.py"))
    loader = cfg.train_dataloader if split == "train" else cfg.test_dataloader
    dataset = DATASETS.build(dict(loader.dataset, data_root=str(cub_root)))
    ids = [i + 1 for i, item in enumerate(IMAGES) if item[2] == 1] if split == "train" else TEST_IDS
    assert len(dataset) == len(ids)
    for index, image_id in enumerate(ids):
        item = dataset[index]
        assert tuple(item["inputs"].shape) == (3, 224, 224)
        if split == "test":  # deterministic: the box, resized to 256 x 256, centre 224
            x, y, w, h = IMAGES[image_id - 1][4]
            img = mmcv.imread(dataset.get_data_info(index)["img_path"])
            box = img[round(y) : round(y + h), round(x) : round(x + w)]
            expected = mmcv.imresize(box, (256, 256))[16:240, 16:240]
            np.testing.assert_array_equal(item["inputs"].numpy().transpose(1, 2, 0), expected)
    # the authors' optimisation: Adam (0.5, 0.999), x0.97 every 2 epochs, batch 16, weight EMA
    assert cfg.optim_wrapper.optimizer.betas == (0.5, 0.999)
    assert (cfg.param_scheduler.step_size, cfg.param_scheduler.gamma) == (2, 0.97)
    assert cfg.train_dataloader.batch_size == 16
    ema = [h for h in cfg.custom_hooks if h["type"] == "EMAHook"]
    assert len(ema) == 1 and ema[0]["momentum"] == pytest.approx(1 - 0.999)


def test_the_cub_localization_config_keeps_full_images_and_boxes(cub_root: Path) -> None:
    cfg = Config.fromfile(str(CONFIGS / "wide-resnet50_aib_1xb16_cub-loc.py"))
    assert "CropToBox" not in str(cfg.train_dataloader.dataset.pipeline)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=str(cub_root)))
    for index, image_id in enumerate(TEST_IDS):
        sample = dataset[index]["data_samples"]
        x, y, w, h = IMAGES[image_id - 1][4]
        width, height = IMAGES[image_id - 1][3]
        assert tuple(sample.ori_shape) == (height, width)
        assert tuple(sample.img_shape) == (224, 224)
        np.testing.assert_allclose(sample.gt_bbox, [x, y, x + w, y + h])
    assert [e["type"] for e in cfg.test_evaluator] == ["Accuracy", "LocalizationMetric"]
