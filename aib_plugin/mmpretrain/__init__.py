"""MMPretrain adapter: registers the AIB neck, classifiers, hooks and datasets.

Import it (or name it in a config's ``custom_imports``) to register::

    IBAttention             neck   (MODELS)
    IBImageClassifier       model  (MODELS)  carries loss_kl / loss_vq / loss_commit
    IBTimmClassifier        model  (MODELS)  the same for timm '*_aib' models
    IBStatsHook             hook   (HOOKS)  deprecated: the statistics are in the loss dict
    LocalizationMetric      metric (METRICS)  pointing game, energy in box, box accuracy
    AttentionVisualizationHook  hook (HOOKS)
    EpochSeedHook           hook   (HOOKS)  reseeds every epoch: --resume replays exactly
    ClutteredDigits         dataset (DATASETS)  generated in memory, boxes in gt_bbox
    ClutteredMNIST          dataset (DATASETS)  real MNIST, RAM's cluttered protocol, gt_bbox
    CUBWithBoxes            dataset (DATASETS)  CUB-200-2011 with bounding_boxes.txt in gt_bbox
    OfflineCIFAR10/100      dataset (DATASETS)  never downloads; md5 check optional
    CropToBox               transform (TRANSFORMS)  crops to gt_bbox (the authors' CUB data)
    WideResNet_CIFAR        backbone (MODELS)  WRN-28-10 for 32x32 images (the paper's CIFAR net)

Importing it also registers :mod:`~aib_plugin.mmpretrain.guards` under the stock names
``ImageClassifier`` and ``TimmClassifier``: the same classes, refusing an IB neck or a timm
``*_aib`` model whose IB terms they would drop.

Importing it also allows the (non-tensor) types that MMEngine checkpoints hold in
``torch.load(weights_only=True)``, so ``--resume`` works on torch >= 2.6 (see
:mod:`aib_plugin.mmpretrain.checkpoint`).
"""

from .checkpoint import allow_mmengine_checkpoints, mmengine_safe_globals
from .classifier import IBImageClassifier, merge_ib_losses
from .cluttered_digits import ClutteredDigits
from .cluttered_mnist import ClutteredMNIST
from .cub_boxes import CUBWithBoxes
from .datasets import OfflineCIFAR10, OfflineCIFAR100
from .guards import GuardedImageClassifier, GuardedTimmClassifier
from .hooks import (
    AttentionVisualizationHook,
    EpochSeedHook,
    IBStatsHook,
    attention_panel,
)
from .localization_metric import LocalizationMetric
from .neck import IBAttention, IBNeckOutput
from .timm_classifier import IBTimmClassifier
from .transforms import CropToBox
from .wide_resnet_cifar import WideResNet_CIFAR

allow_mmengine_checkpoints()

__all__ = [
    "AttentionVisualizationHook",
    "ClutteredDigits",
    "ClutteredMNIST",
    "CUBWithBoxes",
    "CropToBox",
    "EpochSeedHook",
    "GuardedImageClassifier",
    "GuardedTimmClassifier",
    "IBAttention",
    "IBImageClassifier",
    "IBNeckOutput",
    "IBStatsHook",
    "LocalizationMetric",
    "IBTimmClassifier",
    "OfflineCIFAR10",
    "OfflineCIFAR100",
    "WideResNet_CIFAR",
    "allow_mmengine_checkpoints",
    "attention_panel",
    "merge_ib_losses",
    "mmengine_safe_globals",
]
