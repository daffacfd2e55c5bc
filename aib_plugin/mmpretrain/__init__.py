"""MMPretrain adapter: registers the AIB neck, classifiers, hooks and datasets.

Import it (or name it in a config's ``custom_imports``) to register::

    IBAttention             neck   (MODELS)
    IBImageClassifier       model  (MODELS)  carries loss_kl / loss_vq / loss_commit
    IBTimmClassifier        model  (MODELS)  the same for timm '*_aib' models
    IBLossGuardHook         hook   (HOOKS)  refuses a model that would drop the IB terms
    LocalizationMetric      metric (METRICS)  pointing game, energy in box, box accuracy
    AttentionVisualizationHook  hook (HOOKS)
    EpochSeedHook           hook   (HOOKS)  reseeds every epoch: --resume replays exactly
    DatasetEpochHook        hook   (HOOKS)  set_epoch on the training dataset (fresh clutter)
    ClutteredDigits         dataset (DATASETS)  generated in memory, boxes in gt_bbox
    ClutteredMNIST          dataset (DATASETS)  real MNIST, RAM's cluttered protocol, gt_bbox
    CUBWithBoxes            dataset (DATASETS)  CUB-200-2011 with bounding_boxes.txt in gt_bbox
    CropToBox               transform (TRANSFORMS)  crops to gt_bbox (the authors' CUB data)
    WideResNet_CIFAR        backbone (MODELS)  WRN-28-10 for 32x32 images (the paper's CIFAR net)

Importing it only registers: MMPretrain's own entries (``ImageClassifier``, ``TimmClassifier``)
stay as they are, and the IB parts refuse a stock classifier that would drop their IB terms
(:mod:`~aib_plugin.mmpretrain.guards`). The IB classifiers, when built, allow the (non-tensor)
types that MMEngine checkpoints hold in ``torch.load(weights_only=True)``, so ``--resume`` works
on torch >= 2.6 (see :mod:`aib_plugin.mmpretrain.checkpoint`).
"""

from .checkpoint import allow_mmengine_checkpoints, mmengine_safe_globals
from .classifier import IBImageClassifier, merge_ib_losses
from .cluttered_digits import ClutteredDigits
from .cluttered_mnist import ClutteredMNIST
from .cub_boxes import CUBWithBoxes
from .guards import (
    GuardedImageClassifier,
    GuardedTimmClassifier,
    IBLossGuardHook,
    check_ib_terms_reach_the_loss,
)
from .hooks import AttentionVisualizationHook, EpochSeedHook, attention_panel
from .hooks.epoch_seed import DatasetEpochHook
from .localization_metric import LocalizationMetric
from .neck import IBAttention, IBNeckOutput
from .timm_classifier import IBTimmClassifier
from .transforms import CropToBox
from .wide_resnet_cifar import WideResNet_CIFAR

__all__ = [
    "AttentionVisualizationHook",
    "ClutteredDigits",
    "ClutteredMNIST",
    "CUBWithBoxes",
    "CropToBox",
    "DatasetEpochHook",
    "EpochSeedHook",
    "GuardedImageClassifier",
    "GuardedTimmClassifier",
    "IBAttention",
    "IBImageClassifier",
    "IBNeckOutput",
    "IBLossGuardHook",
    "LocalizationMetric",
    "IBTimmClassifier",
    "WideResNet_CIFAR",
    "allow_mmengine_checkpoints",
    "attention_panel",
    "check_ib_terms_reach_the_loss",
    "merge_ib_losses",
    "mmengine_safe_globals",
]
