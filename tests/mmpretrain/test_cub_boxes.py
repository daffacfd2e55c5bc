"""``CUBWithBoxes`` on a tiny CUB-format folder, through the real pipeline and Runner.test()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS
from PIL import Image

# (relative path, class id (1-based), is_train, (width, height), box (x, y, w, h))
IMAGES = [
    ("001.Black_footed_Albatross/a_1.jpg", 1, 1, (48, 40), (4.0, 6.0, 20.0, 16.0)),
    ("001.Black_footed_Albatross/a_2.png", 1, 0, (40, 56), (10.5, 12.0, 18.0, 30.0)),
    ("002.Laysan_Albatross/b_1.jpg", 2, 1, (64, 48), (30.0, 8.0, 25.0, 20.0)),
    ("002.Laysan_Albatross/b_2.jpg", 2, 0, (36, 36), (0.0, 0.0, 12.0, 12.0)),
    ("003.Sooty_Albatross/c_1.png", 3, 0, (50, 30), (20.0, 5.0, 28.0, 22.0)),
]
TEST_IDS = [i + 1 for i, item in enumerate(IMAGES) if item[2] == 0]  # 1-based: 2, 4, 5


def write_cub(root: Path, skip_box_of: int | None = None) -> Path:
    """Write a CUB-200-2011-format folder; boxes are listed in reverse order (matched by id)."""
    rng = np.random.default_rng(0)
    lines = {name: [] for name in ("images", "labels", "split", "boxes")}
    for image_id, (rel, label, is_train, (w, h), box) in enumerate(IMAGES, start=1):
        path = root / "images" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        lines["images"].append(f"{image_id} {rel}")
        lines["labels"].append(f"{image_id} {label}")
        lines["split"].append(f"{image_id} {is_train}")
        if image_id != skip_box_of:
            lines["boxes"].append(f"{image_id} " + " ".join(str(v) for v in box))
    (root / "images.txt").write_text("\n".join(lines["images"]) + "\n")
    (root / "image_class_labels.txt").write_text("\n".join(lines["labels"]) + "\n")
    (root / "train_test_split.txt").write_text("\n".join(lines["split"]) + "\n")
    (root / "bounding_boxes.txt").write_text("\n".join(reversed(lines["boxes"])) + "\n")
    classes = sorted({rel.split("/")[0] for rel, *_ in IMAGES})
    (root / "classes.txt").write_text("".join(f"{i} {c}\n" for i, c in enumerate(classes, 1)))
    return root


def _expected_box(image_id: int) -> np.ndarray:
    x, y, w, h = IMAGES[image_id - 1][4]
    return np.array([x, y, x + w, y + h], dtype=np.float32)


@pytest.fixture(scope="module")
def cub_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cub(tmp_path_factory.mktemp("CUB_200_2011"))


def _pipeline(size: int = 32) -> list[dict]:
    """The localization test pipeline of ``CUBWithBoxes``' docstring: resize only, no crop."""
    return [
        dict(type="LoadImageFromFile"),
        dict(type="Resize", scale=(size, size)),
        dict(
            type="PackInputs",
            meta_keys=("sample_idx", "img_path", "ori_shape", "img_shape", "gt_bbox"),
        ),
    ]


def test_boxes_follow_image_ids_through_the_pipeline(cub_root: Path):
    dataset = DATASETS.build(
        dict(type="CUBWithBoxes", data_root=str(cub_root), split="test", pipeline=_pipeline())
    )
    assert len(dataset) == len(TEST_IDS)
    for index, image_id in enumerate(TEST_IDS):
        rel, label, _, (w, h), _ = IMAGES[image_id - 1]
        info = dataset.get_data_info(index)
        assert info["img_path"].endswith(rel)
        np.testing.assert_allclose(info["gt_bbox"], _expected_box(image_id))
        item = dataset[index]
        sample = item["data_samples"]
        assert tuple(item["inputs"].shape) == (3, 32, 32)
        assert tuple(sample.ori_shape) == (h, w)
        assert tuple(sample.img_shape) == (32, 32)
        assert int(sample.gt_label) == label - 1
        np.testing.assert_allclose(sample.gt_bbox, _expected_box(image_id))

    train = DATASETS.build(dict(type="CUBWithBoxes", data_root=str(cub_root), split="train"))
    train_boxes = [train.get_data_info(i)["gt_bbox"] for i in range(len(train))]
    np.testing.assert_allclose(train_boxes, [_expected_box(1), _expected_box(3)])


def test_missing_box_file_or_box_is_named(tmp_path: Path):
    root = write_cub(tmp_path / "no_file")
    (root / "bounding_boxes.txt").unlink()
    with pytest.raises(FileNotFoundError, match="bounding_boxes.txt"):
        DATASETS.build(dict(type="CUBWithBoxes", data_root=str(root), split="test"))

    root = write_cub(tmp_path / "no_box", skip_box_of=4)
    with pytest.raises(KeyError, match=r"image id 4 \(002.Laysan_Albatross/b_2.jpg\)"):
        DATASETS.build(dict(type="CUBWithBoxes", data_root=str(root), split="test"))
    # the train split does not contain image 4: it loads
    assert len(DATASETS.build(dict(type="CUBWithBoxes", data_root=str(root), split="train"))) == 2

    root = write_cub(tmp_path / "bad_line")
    with (root / "bounding_boxes.txt").open("a") as f:
        f.write("9 1 2 3\n")
    with pytest.raises(ValueError, match="line 6"):
        DATASETS.build(dict(type="CUBWithBoxes", data_root=str(root), split="test"))


def test_runner_test_scores_attention_against_cub_boxes(cub_root: Path, tmp_path: Path):
    loader = dict(
        batch_size=2,
        num_workers=0,
        dataset=dict(
            type="CUBWithBoxes", data_root=str(cub_root), split="test", pipeline=_pipeline()
        ),
        sampler=dict(type="DefaultSampler", shuffle=False),
    )
    runner = Runner(
        model=dict(
            type="IBImageClassifier",
            backbone=dict(type="ResNet_CIFAR", depth=18, base_channels=8, out_indices=(3,)),
            neck=dict(type="IBAttention", in_channels=64, bottleneck_dim=16),
            head=dict(type="LinearClsHead", num_classes=3, in_channels=16, topk=(1,)),
            data_preprocessor=dict(num_classes=3, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True),
        ),
        work_dir=str(tmp_path),
        test_dataloader=loader,
        test_cfg=dict(),
        test_evaluator=[dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")],
        default_scope="mmpretrain",
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        log_level="WARNING",
    )
    metrics = runner.test()
    expected = [
        "accuracy/top1",
        "localization/pointing_game",
        "localization/energy_in_box",
        "localization/box_acc",
    ]
    for key in expected:
        assert key in metrics, sorted(metrics)
        assert 0.0 <= float(metrics[key]) <= 100.0, (key, metrics[key])
    # energy in box of any non-degenerate map is positive: the boxes were read and scored
    assert float(metrics["localization/energy_in_box"]) > 0.0
    assert 0.0 < float(metrics["localization/box_threshold"]) < 1.0
