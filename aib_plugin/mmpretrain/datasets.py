"""CIFAR datasets that read local batches and never download.

MMPretrain's ``CIFAR10`` / ``CIFAR100`` check the md5 sums of the official files and download
the archive when a check fails. ``OfflineCIFAR10`` / ``OfflineCIFAR100`` read the same pickled
batch format from ``data_root`` and never touch the network: a missing file is an error naming
the file. With ``verify_md5=True`` (the default) the official md5 sums are still enforced, so
real data is verified; ``verify_md5=False`` accepts any well-formed batches (synthetic test data,
re-packed subsets) and says so in the log.
"""

from __future__ import annotations

from mmengine.fileio import exists, join_path
from mmengine.logging import MMLogger
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import check_md5
from mmpretrain.registry import DATASETS


class _OfflineCIFARMixin:
    """Integrity check without download; md5 optional."""

    def _init_offline(self, verify_md5: bool, kwargs: dict) -> dict:
        if kwargs.pop("download", False):
            raise ValueError(f"{type(self).__name__} never downloads; use download=False (default)")
        self.verify_md5 = verify_md5
        if not verify_md5:
            MMLogger.get_current_instance().info(
                f"{type(self).__name__}: md5 sums are not checked (verify_md5=False)"
            )
        return kwargs

    def _check_integrity(self) -> bool:
        root = self.data_prefix["root"]
        for filename, md5 in self.train_list + self.test_list:
            path = join_path(root, self.base_folder, filename)
            if not exists(path):
                raise FileNotFoundError(
                    f"{type(self).__name__}: {path} is missing; it never downloads, put the "
                    f"pickled batches {[f for f, _ in self.train_list + self.test_list]} in "
                    f"{join_path(root, self.base_folder)}"
                )
            if self.verify_md5 and not check_md5(path, md5):
                raise RuntimeError(
                    f"{type(self).__name__}: md5 of {path} differs from the official file; pass "
                    "verify_md5=False to accept other batches"
                )
        return True

    def _load_meta(self) -> None:
        if self.verify_md5:
            super()._load_meta()
            return
        import pickle

        from mmengine.fileio import get

        path = join_path(self.data_prefix["root"], self.base_folder, self.meta["filename"])
        data = pickle.loads(get(path), encoding="latin1")
        self._metainfo.setdefault("classes", data[self.meta["key"]])


@DATASETS.register_module()
class OfflineCIFAR10(_OfflineCIFARMixin, CIFAR10):
    """``CIFAR10`` without download, md5 check optional (see the module docstring).

    Args:
        verify_md5: check the official md5 sums.
        **kwargs: arguments of mmpretrain's ``CIFAR10`` (``data_root``, ``split``, ``pipeline``...).
    """

    def __init__(self, verify_md5: bool = True, **kwargs) -> None:
        kwargs = self._init_offline(verify_md5, kwargs)
        super().__init__(download=False, **kwargs)


@DATASETS.register_module()
class OfflineCIFAR100(_OfflineCIFARMixin, CIFAR100):
    """``CIFAR100`` without download, md5 check optional (see the module docstring).

    Args:
        verify_md5: check the official md5 sums.
        **kwargs: arguments of mmpretrain's ``CIFAR100``.
    """

    def __init__(self, verify_md5: bool = True, **kwargs) -> None:
        kwargs = self._init_offline(verify_md5, kwargs)
        super().__init__(download=False, **kwargs)
