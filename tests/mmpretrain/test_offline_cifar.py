"""OfflineCIFAR10 reads CIFAR batches with mmpretrain's loader and never downloads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mmpretrain.registry import DATASETS

import aib_plugin.mmpretrain.datasets as offline


def test_reads_written_batches_through_mmpretrains_loader(cifar_root: Path) -> None:
    train = DATASETS.build(dict(type="OfflineCIFAR10", data_root=str(cifar_root), verify_md5=False))
    test = DATASETS.build(
        dict(type="OfflineCIFAR10", data_root=str(cifar_root), split="test", verify_md5=False)
    )
    assert len(train) == 40 and len(test) == 8
    item = train.get_data_info(0)
    assert item["img"].shape == (32, 32, 3) and 0 <= item["gt_label"] < 10
    assert train.metainfo["classes"][0] == "airplane"  # mmpretrain's CIFAR10 categories


def test_stock_cifar10_would_download_these_files(cifar_root: Path, monkeypatch) -> None:
    """Why the subclass exists: mmpretrain's CIFAR10 rejects the md5 and tries to download."""
    import mmpretrain.datasets.cifar as cifar

    calls = []
    monkeypatch.setattr(cifar, "download_and_extract_archive", lambda *a, **k: calls.append(a))
    with pytest.raises(AssertionError, match="Download failed"):
        DATASETS.build(dict(type="CIFAR10", data_root=str(cifar_root)))
    assert calls, "mmpretrain's CIFAR10 did not try to download"


def test_official_md5_is_checked_by_default(cifar_root: Path) -> None:
    with pytest.raises(RuntimeError, match="md5 of .*data_batch_1.*verify_md5=False"):
        DATASETS.build(dict(type="OfflineCIFAR10", data_root=str(cifar_root)))


def test_missing_file_is_named(cifar_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "partial"
    shutil.copytree(cifar_root, root)
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch is missing; it never downloads"):
        DATASETS.build(dict(type="OfflineCIFAR10", data_root=str(root), verify_md5=False))


def test_download_is_refused() -> None:
    with pytest.raises(ValueError, match="never downloads"):
        offline.OfflineCIFAR100(data_root="unused", download=True)
