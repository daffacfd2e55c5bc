"""MMPretrain's own classifiers, left in place, meet the AIB parts whose IB terms they drop."""

from __future__ import annotations

import itertools
import subprocess

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmpretrain.models.classifiers import ImageClassifier, TimmClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch.utils.data import DataLoader

from aib_plugin.mmpretrain import check_ib_terms_reach_the_loss

from .mmp_helpers import PYTHON, REPO, subprocess_env

BACKBONE = dict(type="ResNet_CIFAR", depth=18, stem_channels=8, base_channels=8, out_indices=(3,))
HEAD = dict(type="LinearClsHead", num_classes=10, in_channels=16)
NECK = dict(type="IBAttention", in_channels=64, bottleneck_dim=16)
_RUNS = itertools.count()


def _batch(n: int = 2, size: int = 32) -> dict:
    """A batch as a dataloader gives it: uint8 images and data samples with labels."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator)
    samples = [DataSample().set_gt_label(i % 4) for i in range(n)]
    return dict(inputs=list(images), data_samples=samples)


def _optim(model: torch.nn.Module) -> OptimWrapper:
    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))


def test_the_registry_keeps_mmpretrains_own_classifiers() -> None:
    """This adapter (imported by the conftest) registers its own types and replaces none."""
    assert MODELS.get("ImageClassifier") is ImageClassifier
    assert MODELS.get("TimmClassifier") is TimmClassifier
    assert ImageClassifier.__module__.startswith("mmpretrain.models.classifiers")
    assert TimmClassifier.__module__.startswith("mmpretrain.models.classifiers")


def test_importing_aib_plugin_under_mmpretrain_replaces_nothing() -> None:
    """A config with custom_imports=['aib_plugin'] loads the adapter; the stock entries stay
    MMPretrain's, and no checkpoint type is allowed before an IB classifier is built."""
    code = (
        "import torch\n"
        "import mmpretrain.models\n"
        "from mmpretrain.registry import MODELS\n"
        "before = len(torch.serialization.get_safe_globals())\n"
        "import aib_plugin\n"
        "import aib_plugin.mmpretrain\n"
        "print(MODELS.get('TimmClassifier').__module__, MODELS.get('ImageClassifier').__module__,\n"
        "      MODELS.get('IBImageClassifier').__name__,\n"
        "      len(torch.serialization.get_safe_globals()) == before)\n"
    )
    proc = subprocess.run(
        [PYTHON, "-c", code], cwd=REPO, env=subprocess_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stock, stock_image, ours, untouched = proc.stdout.split()
    assert stock.startswith("mmpretrain.") and stock_image.startswith("mmpretrain.")
    assert (ours, untouched) == ("IBImageClassifier", "True")


def test_stock_image_classifier_refuses_the_neck_at_the_first_training_step() -> None:
    model = MODELS.build(dict(type="ImageClassifier", backbone=BACKBONE, neck=NECK, head=HEAD))
    assert type(model) is ImageClassifier
    before = model.head.fc.weight.detach().clone()
    with pytest.raises(TypeError, match="without the IB loss terms.*type='IBImageClassifier'"):
        model.train_step(_batch(), _optim(model))
    assert torch.equal(model.head.fc.weight, before)  # no step was taken
    model.eval()  # evaluation drops nothing: plain features are fine
    predictions = model.val_step(_batch())
    assert len(predictions) == 2 and predictions[0].pred_score.shape == (10,)


def test_the_ib_classifier_takes_the_same_step() -> None:
    model = MODELS.build(dict(type="IBImageClassifier", backbone=BACKBONE, neck=NECK, head=HEAD))
    before = model.neck.bottleneck.fc.weight.detach().clone()
    log_vars = model.train_step(_batch(), _optim(model))
    assert {"loss", "loss_cls", "loss_kl"} <= set(log_vars)
    assert not torch.equal(model.neck.bottleneck.fc.weight, before)


def _runner(tmp_path, model: dict) -> Runner:
    """A real Runner for one training iteration, with the guard hook."""
    batch = _batch(4)
    samples = [dict(inputs=x, data_samples=d) for x, d in zip(*batch.values(), strict=True)]
    loader = DataLoader(samples, batch_size=2, collate_fn=pseudo_collate)
    return Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=loader,
        train_cfg=dict(by_epoch=False, max_iters=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        custom_hooks=[dict(type="IBLossGuardHook")],
        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=1)),
        default_scope="mmpretrain",
        log_level="WARNING",
        experiment_name=f"guard_{tmp_path.name}_{next(_RUNS)}",
    )


@pytest.mark.parametrize("name", ["resnet18_aib", "resnet18_aib_qt"])
def test_the_guard_hook_refuses_a_stock_timm_classifier_before_the_first_step(
    tmp_path, name: str
) -> None:
    """The timm model cannot tell a stock TimmClassifier from a plain timm loop: the hook can."""
    model = dict(type="TimmClassifier", model_name=name, num_classes=4)
    built = MODELS.build(model)
    assert type(built) is TimmClassifier  # it builds: nothing replaced the stock class
    with pytest.raises(TypeError, match=f"'{name}'.*without the IB loss.*IBTimmClassifier"):
        check_ib_terms_reach_the_loss(built)
    runner = _runner(tmp_path, model)
    before = runner.model.model.decoder.fc.weight.detach().clone()
    with pytest.raises(TypeError, match=f"'{name}'.*without the IB loss.*IBTimmClassifier"):
        runner.train()
    assert torch.equal(runner.model.model.decoder.fc.weight, before)  # no step was taken


def test_the_guard_hook_refuses_the_neck_in_a_stock_classifier_and_passes_ib_models(
    tmp_path,
) -> None:
    stock = dict(type="ImageClassifier", backbone=BACKBONE, neck=NECK, head=HEAD)
    with pytest.raises(TypeError, match="'ImageClassifier' with neck 'IBAttention'"):
        _runner(tmp_path / "stock", stock).train()
    runner = _runner(tmp_path / "ib", dict(type="IBTimmClassifier", model_name="resnet18_aib"))
    runner.train()
    assert runner.iter == 1


def test_stock_timm_classifier_still_builds_plain_timm_models() -> None:
    model = MODELS.build(dict(type="TimmClassifier", model_name="resnet18", num_classes=4))
    check_ib_terms_reach_the_loss(model)  # nothing to refuse
    log_vars = model.train_step(_batch(), _optim(model))
    assert {k for k in log_vars if k.startswith("loss")} == {"loss"}


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
        MODELS.build(dict(type="IBAttention"))


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
