"""weights_only loading of MMEngine checkpoints without a global unsafe switch."""

from __future__ import annotations

import io
import pickle

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.logging.history_buffer import HistoryBuffer

from aib_plugin.mmpretrain import allow_mmengine_checkpoints, mmengine_safe_globals
from aib_plugin.mmpretrain.checkpoint import history_buffer_getattr


@pytest.fixture
def no_safe_globals():
    """Start from torch's default allowlist; restore the package's afterwards."""
    before = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(before)


def _mmengine_like_checkpoint() -> io.BytesIO:
    hub = MessageHub.get_instance("aib_checkpoint_test")
    hub.update_scalar("train/loss", 1.5)
    hub.update_scalar("train/ib_kl_bits", 3)
    hub.update_info("epoch", 2)
    state = {
        "meta": {"epoch": 2, "iter": 10, "dataset_meta": {"classes": ("a", "b")}},
        "state_dict": {"w": torch.ones(2)},
        "message_hub": hub.state_dict(),
        "optimizer": {"state": {0: {"momentum_buffer": torch.zeros(2)}}, "param_groups": []},
        "param_schedulers": [{"last_epoch": 2, "_last_lr": [0.05]}],
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_torch_refuses_the_checkpoint_by_default(no_safe_globals) -> None:
    with pytest.raises(pickle.UnpicklingError, match="HistoryBuffer"):
        torch.load(_mmengine_like_checkpoint())


def test_context_manager_allows_it_only_inside(no_safe_globals) -> None:
    buffer = _mmengine_like_checkpoint()
    with mmengine_safe_globals():
        ckpt = torch.load(buffer)
    history = ckpt["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(history, HistoryBuffer) and history.current() == 1.5
    assert ckpt["meta"]["epoch"] == 2
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buffer)


def test_process_wide_allowlist_survives_the_context(no_safe_globals) -> None:
    allow_mmengine_checkpoints()
    with mmengine_safe_globals():
        pass
    assert torch.load(_mmengine_like_checkpoint())["meta"]["iter"] == 10


class _Evil:
    def __reduce__(self):
        return (getattr, (HistoryBuffer, "__init__"))


def test_general_getattr_stays_forbidden() -> None:
    buffer = io.BytesIO()
    torch.save({"x": _Evil()}, buffer)
    buffer.seek(0)
    with mmengine_safe_globals(), pytest.raises(pickle.UnpicklingError, match="refusing getattr"):
        torch.load(buffer)
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_getattr(torch, "load")
    assert history_buffer_getattr(HistoryBuffer, "mean") is HistoryBuffer.mean


def test_building_an_ib_classifier_allows_the_checkpoint_types(no_safe_globals) -> None:
    """Importing the adapter allows nothing; the Runner builds the model before it resumes, and
    an IB classifier's init allows the MMEngine types (``tools/train.py CONFIG --resume``)."""
    from mmpretrain.registry import MODELS

    import aib_plugin.mmpretrain  # noqa: F401  (already imported: registration only)

    with pytest.raises(pickle.UnpicklingError):
        torch.load(_mmengine_like_checkpoint())
    MODELS.build(
        dict(
            type="IBImageClassifier",
            backbone=dict(type="ResNet_CIFAR", depth=18, stem_channels=8, base_channels=8),
            neck=dict(type="IBAttention", bottleneck_dim=8),
            head=dict(type="LinearClsHead", num_classes=2, in_channels=8),
        )
    )
    assert torch.load(_mmengine_like_checkpoint())["meta"]["epoch"] == 2
    torch.serialization.clear_safe_globals()
    MODELS.build(dict(type="IBTimmClassifier", model_name="resnet18_aib", num_classes=2))
    assert torch.load(_mmengine_like_checkpoint())["meta"]["epoch"] == 2
