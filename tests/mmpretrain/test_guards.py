"""MMPretrain's stock classifiers refuse the AIB parts whose IB terms they would drop."""

from __future__ import annotations

import subprocess

import pytest
import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .mmp_helpers import PYTHON, REPO, subprocess_env

BACKBONE = dict(type="ResNet_CIFAR", depth=18, stem_channels=8, base_channels=8, out_indices=(3,))
HEAD = dict(type="LinearClsHead", num_classes=10, in_channels=16)


@pytest.mark.parametrize("name", ["resnet18_aib", "resnet18_aib_qt"])
def test_stock_timm_classifier_refuses_an_aib_model(name: str) -> None:
    with pytest.raises(TypeError, match=f"'{name}'.*without the IB loss.*IBTimmClassifier"):
        MODELS.build(dict(type="TimmClassifier", model_name=name, num_classes=4))


def test_stock_timm_classifier_still_builds_plain_timm_models() -> None:
    model = MODELS.build(dict(type="TimmClassifier", model_name="resnet18", num_classes=4))
    losses = model(
        torch.randn(2, 3, 32, 32), [DataSample().set_gt_label(i) for i in (0, 1)], mode="loss"
    )
    assert {k for k in losses if k.startswith("loss")} == {"loss"}


def test_ib_timm_classifier_builds_a_wrapped_arch_its_config_names() -> None:
    """A run's dumped config names ``<arch>_aib_qt`` of an architecture with no built-in AIB
    model (the benchmark registered it in its own process): a new process builds it too."""
    script = (
        "import timm, torch\n"
        "from mmpretrain.registry import MODELS\n"
        "from mmpretrain.structures import DataSample\n"
        "import aib_plugin.mmpretrain\n"
        "assert not timm.is_model('resnet14t_aib_qt')\n"
        "model = MODELS.build(dict(type='IBTimmClassifier', model_name='resnet14t_aib_qt',\n"
        "                          num_classes=3))\n"
        "samples = [DataSample().set_gt_label(i) for i in (0, 1)]\n"
        "losses = model(torch.randn(2, 3, 32, 32), samples, mode='loss')\n"
        "print(model.num_anchors, sorted(k for k in losses if k.startswith('loss')))\n"
    )
    result = subprocess.run(
        [PYTHON, "-c", script], capture_output=True, text=True, cwd=REPO, env=subprocess_env()
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        result.stdout.split("\n")[-2] == "20 ['loss_cls', 'loss_commit', 'loss_kl']"
    )  # frozen anchors: no vq
    with pytest.raises(RuntimeError, match="Unknown model \\(no_such_arch_aib\\)"):
        MODELS.build(dict(type="IBTimmClassifier", model_name="no_such_arch_aib"))


def test_stock_image_classifier_refuses_the_neck_even_standalone() -> None:
    neck = dict(type="IBAttention", in_channels=64, bottleneck_dim=16)
    with pytest.raises(RuntimeError, match="IBImageClassifier") as info:
        MODELS.build(dict(type="ImageClassifier", backbone=BACKBONE, neck=neck, head=HEAD))
    assert "standalone" not in str(info.value)  # no hint into a model that drops the terms
    with pytest.raises(TypeError, match="without the IB loss.*IBImageClassifier"):
        MODELS.build(
            dict(
                type="ImageClassifier",
                backbone=BACKBONE,
                neck=dict(neck, standalone=True),
                head=HEAD,
            )
        )


def test_the_neck_line_alone_infers_its_channels_and_logs_them(tmp_path) -> None:
    log_file = tmp_path / "build.log"
    MMLogger.get_instance("test_infer_channels", log_file=str(log_file))
    model = MODELS.build(
        dict(
            type="IBImageClassifier",
            backbone=BACKBONE,
            neck=dict(type="IBAttention", bottleneck_dim=16),
            head=HEAD,
        )
    )
    assert model.neck.in_channels == 64  # ResNet-18 at base width 8: 8 * 8 channels
    assert "IBAttention in_channels=64 inferred" in log_file.read_text()
    losses = model(
        torch.randn(2, 3, 32, 32), [DataSample().set_gt_label(i) for i in (0, 1)], mode="loss"
    )
    assert {k for k in losses if k.startswith("loss")} == {"loss_cls", "loss_kl"}
    with pytest.raises(ValueError, match="IBAttention needs in_channels"):
        MODELS.build(dict(type="IBAttention", standalone=True))


def test_importing_aib_plugin_under_mmpretrain_loads_the_checks() -> None:
    """A config with custom_imports=['aib_plugin'] (the timm models only) is guarded too."""
    code = (
        "import mmpretrain.models\n"
        "from mmpretrain.registry import MODELS\n"
        "import aib_plugin\n"
        "print(MODELS.get('TimmClassifier').__name__, MODELS.get('ImageClassifier').__name__)\n"
    )
    proc = subprocess.run(
        [PYTHON, "-c", code], cwd=REPO, env=subprocess_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["GuardedTimmClassifier", "GuardedImageClassifier"]


def test_ib_timm_classifier_measures_cross_entropy_in_bits_by_default() -> None:
    """The IB terms are in bits; so is the default classification loss (one unit)."""
    import math

    import torch.nn.functional as F

    model = MODELS.build(dict(type="IBTimmClassifier", model_name="resnet18_aib", num_classes=4))
    torch.manual_seed(0)
    x, labels = torch.randn(2, 3, 32, 32), [0, 3]
    with torch.no_grad():
        torch.manual_seed(1)  # the same noise draws in both training forwards
        logits = model.model(x)
        torch.manual_seed(1)
        losses = model.loss(x, [DataSample().set_gt_label(i) for i in labels])
    nats = F.cross_entropy(logits, torch.tensor(labels))
    torch.testing.assert_close(losses["loss_cls"], nats / math.log(2))
