"""The tests' CIFAR-10 batches go through MMPretrain's own CIFAR10 loading code, no download."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from .mmp_helpers import WrittenCIFAR10


def test_written_batches_load_through_the_stock_cifar10_code(cifar_root: Path) -> None:
    train = DATASETS.build(dict(type="WrittenCIFAR10", data_root=str(cifar_root), download=False))
    test = DATASETS.build(
        dict(type="WrittenCIFAR10", data_root=str(cifar_root), split="test", download=False)
    )
    assert len(train) == 40 and len(test) == 8
    item = train.get_data_info(0)
    assert item["img"].shape == (32, 32, 3) and item["img"].dtype == np.uint8
    assert 0 <= item["gt_label"] < 10
    assert train.metainfo["classes"][0] == "airplane"  # mmpretrain's CIFAR10 categories
    # no method of the stock class is replaced: only its checksum table
    assert not {"load_data_list", "_check_integrity", "_load_meta"} & set(vars(WrittenCIFAR10))


def test_stock_cifar10_would_download_these_files(cifar_root: Path, monkeypatch) -> None:
    """Why the checksums are dropped: stock CIFAR10 rejects the md5 sums and downloads."""
    import mmpretrain.datasets.cifar as cifar

    calls = []
    monkeypatch.setattr(cifar, "download_and_extract_archive", lambda *a, **k: calls.append(a))
    with pytest.raises(AssertionError, match="Download failed"):
        DATASETS.build(dict(type="CIFAR10", data_root=str(cifar_root)))
    assert calls, "mmpretrain's CIFAR10 did not try to download"


def test_a_missing_batch_is_an_error_not_a_download(cifar_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "partial"
    shutil.copytree(cifar_root, root)
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(RuntimeError, match="Cannot find WrittenCIFAR10 dataset"):
        DATASETS.build(dict(type="WrittenCIFAR10", data_root=str(root), download=False))
