"""The study tool pointing_misses: the receptive-field centres it measures, on a known geometry."""

import pytest
import timm
import torch
from pointing_misses import cell_size, receptive_field_offsets


class _Strided(torch.nn.Module):
    """Three stride-2 3x3 convolutions with "same" padding and all-one weights (linear: every
    cell's input gradient is symmetric about its receptive-field centre); the last is the
    last stage, as ``aibtools.maps.last_stage`` finds it (``backbone.stages[-1]``)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = torch.nn.Module()
        self.backbone.stages = torch.nn.Sequential(
            *(torch.nn.Conv2d(1, 1, 3, stride=2, padding=1, bias=False) for _ in range(3))
        )
        for conv in self.backbone.stages:
            torch.nn.init.ones_(conv.weight)

    def forward(self, images: torch.Tensor, mode: str = "tensor") -> torch.Tensor:
        return self.backbone.stages(images)


class _Runner:
    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model


def test_receptive_field_centres_of_same_padded_stride_2_convolutions():
    """Cell ``j`` of the stride-4 input and the stride-8 output of the last stage is centred on
    pixel ``S j``: half a cell up-left of where the usual upsampling draws it, ``(S - 1) / 2``."""
    offsets = receptive_field_offsets(_Runner(_Strided()), torch.rand(2, 1, 64, 64))
    assert offsets["input"] == pytest.approx((-1.5, -1.5), abs=1e-6)
    assert offsets["output"] == pytest.approx((-3.5, -3.5), abs=1e-6)
    with pytest.raises(ValueError, match="the last stage's output is 2x2: no interior cell"):
        receptive_field_offsets(_Runner(_Strided()), torch.rand(1, 1, 16, 16))


def test_receptive_fields_of_a_token_stage_are_refused_by_shape():
    """A last stage whose output is not a (B, C, H, W) map (a ViT's tokens) is named, not read."""
    model = _Strided()
    model.backbone.stages.append(torch.nn.Flatten(2))  # (B, 1, 8, 8) -> tokens (B, 1, 64)
    with pytest.raises(
        ValueError, match=r"output has shape \(1, 1, 64\): expected a \(B, C, H, W\)"
    ):
        receptive_field_offsets(_Runner(model), torch.rand(1, 1, 64, 64))


def test_cell_size_of_a_conv_stage_and_of_a_vit_patch_grid():
    """Pixels per cell: the image over the last stage's map, or over a ViT's patch grid (its
    stages' outputs are (B, N, C) tokens, whose last dimension is the width, not a side)."""
    assert cell_size(_Runner(_Strided()), torch.rand(1, 64, 64)) == 8
    vit = timm.create_model(
        "vit_tiny_patch16_224", img_size=64, patch_size=8, num_classes=10, global_pool="avg"
    )
    assert cell_size(_Runner(vit), torch.rand(3, 64, 64)) == 8
