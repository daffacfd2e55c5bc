"""The build-time shape probe both adapters size the attention with."""

import pytest
import timm
import torch
import torch.nn as nn

from aib_plugin.layers import probe_forward, probe_module
from aib_plugin.layers.probe import first_conv_in_channels


class _Net(nn.Module):
    """Two convs and a counter of the second's calls; refuses inputs wider than ``max_side``."""

    def __init__(self, in_chans: int = 2, max_side: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_chans, 4, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.last = nn.Conv2d(4, 6, 1)
        self.max_side = max_side
        self.last_calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > self.max_side:
            raise ValueError(f"input side {x.shape[-1]} > {self.max_side}")
        y = self.bn(self.stem(x))
        self.last_calls += 1
        return self.last(y)


def test_probe_forward_runs_a_zero_image_in_eval_without_grad_and_restores_the_mode() -> None:
    net = _Net(in_chans=2).train()
    out = probe_forward(net, (8,))
    assert out.shape == (1, 6, 4, 4) and not out.requires_grad
    assert net.training and int(net.bn.num_batches_tracked) == 0  # BN ran in eval mode


def test_probe_forward_tries_the_sizes_in_turn_and_names_each_failure() -> None:
    assert probe_forward(_Net(max_side=16), ((32, 32), 16)).shape == (1, 6, 8, 8)
    with pytest.raises(RuntimeError, match=r"32x32: input side 32 > 8; 16x16: input side 16"):
        probe_forward(_Net(max_side=8), (32, 16))
    with pytest.raises(ValueError, match="at least one image size"):
        probe_forward(_Net(), ())


def test_probe_module_captures_input_or_output_and_stops_there() -> None:
    net = _Net()
    assert probe_module(net, "last", (8,)).shape == (1, 4, 4, 4)
    assert net.last_calls == 1  # the counter sits before the module: the probe reached it
    assert probe_module(net, "stem", (8,), at_input=False).shape == (1, 4, 4, 4)
    assert net.last_calls == 1  # stopped after the stem
    assert not net.stem._forward_hooks and not net.last._forward_pre_hooks


def test_probe_module_on_a_timm_stage_through_forward_features() -> None:
    base = timm.create_model("resnet18", num_classes=0)
    feat = probe_module(base, "layer4", (64,), in_chans=3, forward=base.forward_features)
    assert feat.shape == (1, 256, 4, 4)


def test_probe_module_errors_name_the_path() -> None:
    with pytest.raises(ValueError, match="'layer9' is not a module of _Net"):
        probe_module(_Net(), "layer9", (8,))
    net = _Net()
    net.unused = nn.Identity()
    with pytest.raises(RuntimeError, match="never ran its module 'unused'"):
        probe_module(net, "unused", (8,))


def test_first_conv_in_channels() -> None:
    assert first_conv_in_channels(_Net(in_chans=5)) == 5
    assert first_conv_in_channels(nn.Linear(2, 2)) == 3
