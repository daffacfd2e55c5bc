import pytest
import torch
import torch.nn as nn

from aib_plugin.layers import (
    IBSpatialAttention,
    LightAttentionHead,
    PaperAttentionHead,
    stride_one_copy,
)

SHAPES = [(1, 1, 1, 1), (1, 3, 1, 1), (2, 8, 1, 5), (3, 16, 7, 7), (1, 32, 14, 9), (4, 64, 2, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("num_anchors", [None, 20])
@pytest.mark.parametrize("training", [True, False])
def test_shapes(shape, num_anchors, training):
    b, c, h, w = shape
    layer = IBSpatialAttention(c, num_anchors=num_anchors, learn_anchors=True).train(training)
    if training and b == 1 and h * w == 1:
        pytest.raises(ValueError, layer, torch.randn(shape))  # BatchNorm needs > 1 value
        return
    out = layer(torch.randn(shape))
    assert out.modulated.shape == shape
    assert out.attention_mean.shape == (b, 1, h, w)
    assert out.attention.shape == (b, 1, h, w)
    assert (out.codebook_loss is None) == (num_anchors is None)


def test_modulation_is_residual_and_unclipped():
    layer = IBSpatialAttention(4).eval()
    x = torch.randn(2, 4, 5, 5)
    out = layer(x)
    torch.testing.assert_close(out.modulated, x * (1 + out.attention_mean))
    assert ((out.attention_mean > 0) & (out.attention_mean < 1)).all()
    layer.train()
    with torch.no_grad():
        layer.std_conv.bias.fill_(20.0)  # sigma ~ 15: samples leave [0, 1] and are kept
    sampled = layer(x).attention
    assert sampled.min() < 0 and sampled.max() > 1


@pytest.mark.parametrize("num_anchors", [None, 20])
def test_gate_modulation_multiplies_by_the_map(num_anchors):
    torch.manual_seed(0)
    gate = IBSpatialAttention(
        4, num_anchors=num_anchors, learn_anchors=True, modulation="gate"
    ).eval()
    x = torch.randn(2, 4, 5, 5)
    out = gate(x)
    torch.testing.assert_close(out.modulated, x * out.attention)
    residual = IBSpatialAttention(4, num_anchors=num_anchors, learn_anchors=True).eval()
    residual.load_state_dict(gate.state_dict())  # same parameters, only the modulation differs
    torch.testing.assert_close(residual(x).modulated, x * (1 + out.attention))
    scripted = torch.jit.script(gate)
    torch.testing.assert_close(scripted(x)[0], out.modulated)


@pytest.mark.parametrize("num_anchors", [None, 20])
def test_normalized_modulation_pools_to_the_attention_weighted_mean(num_anchors):
    torch.manual_seed(0)
    layer = IBSpatialAttention(
        4, num_anchors=num_anchors, learn_anchors=True, modulation="normalized"
    ).eval()
    x = torch.randn(2, 4, 5, 5)
    out = layer(x)
    weights = out.attention.clamp_min(0)
    weighted_mean = (x * weights).sum((2, 3)) / weights.sum((2, 3))
    torch.testing.assert_close(out.modulated.mean((2, 3)), weighted_mean)
    gate = IBSpatialAttention(
        4, num_anchors=num_anchors, learn_anchors=True, modulation="gate"
    ).eval()
    gate.load_state_dict(layer.state_dict())  # the same map, only the modulation differs
    torch.testing.assert_close(out.modulated, gate(x).modulated / weights.mean((2, 3), True))
    scripted = torch.jit.script(layer)
    torch.testing.assert_close(scripted(x)[0], layer(x).modulated)


def test_normalized_modulation_of_an_all_zero_map_removes_x():
    layer = IBSpatialAttention(4, modulation="normalized").eval()
    with torch.no_grad():
        layer.head.bn.bias.fill_(-100.0)  # sigmoid underflows: mu_a is 0 everywhere
    out = layer(torch.randn(2, 4, 3, 3))
    assert torch.isfinite(out.modulated).all()
    assert out.modulated.abs().max() == 0


@pytest.mark.parametrize("level", [0.1, 0.5, 0.9])
def test_light_head_starts_around_its_initial_attention(level):
    torch.manual_seed(0)
    layer = IBSpatialAttention(16, head=LightAttentionHead(16, initial_attention=level)).train()
    mean = layer(torch.randn(8, 16, 6, 6)).attention_mean.mean().item()
    assert abs(mean - level) < 0.1
    with pytest.raises(ValueError, match=r"initial_attention .* \(0, 1\).* 1\.5"):
        LightAttentionHead(16, initial_attention=1.5)


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_light_head_kernel_sets_how_far_a_feature_reaches(kernel_size):
    # a change of the features at one position moves the attention logits within k // 2 cells
    torch.manual_seed(0)
    head = LightAttentionHead(16, kernel_size=kernel_size).eval()
    x = torch.randn(1, 16, 9, 9)
    bumped = x.clone()
    bumped[:, :, 4, 4] += 5.0
    with torch.no_grad():
        changed = (head(bumped) - head(x)).abs()[0, 0] > 1e-6
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert changed[4, 4]
    assert (rows - 4).abs().max().item() == kernel_size // 2
    assert (cols - 4).abs().max().item() == kernel_size // 2


@pytest.mark.parametrize("bad", [2, 0])
def test_light_head_refuses_an_even_or_empty_kernel(bad):
    with pytest.raises(ValueError, match=rf"kernel_size.*{bad}"):
        LightAttentionHead(16, kernel_size=bad)


def test_eval_deterministic_training_stochastic():
    layer = IBSpatialAttention(8, num_anchors=30, learn_anchors=True)
    x = torch.randn(2, 8, 6, 6)
    layer.eval()
    first, second = layer(x), layer(x)
    assert torch.equal(first.modulated, second.modulated)
    assert torch.equal(first.attention, second.attention)
    layer.train()
    with torch.no_grad():
        layer.std_conv.bias.fill_(5.0)  # make the noise large enough to cross anchors
    assert not torch.equal(layer(x).attention, layer(x).attention)


def test_monte_carlo_samples_in_eval():
    layer = IBSpatialAttention(8, mc_samples=4).eval()
    with torch.no_grad():
        layer.std_conv.bias.fill_(3.0)
    x = torch.randn(3, 8, 5, 5)
    out = layer(x)
    assert out.modulated.shape == (12, 8, 5, 5) and out.attention.shape == (12, 1, 5, 5)
    samples = out.attention.reshape(4, 3, 1, 5, 5)
    assert not torch.equal(samples[0], samples[1])
    # sample s of input b is row s * B + b, and modulates that input
    torch.testing.assert_close(out.modulated[4], x[1] * (1 + out.attention[4]))
    # the samples scatter around the deterministic mean
    err_mean = (samples.mean(0) - out.attention_mean).abs().mean()
    err_one = (samples[0] - out.attention_mean).abs().mean()
    assert err_mean < err_one


def test_gradients_reach_head_std_and_input():
    layer = IBSpatialAttention(8, num_anchors=20, learn_anchors=True).train()
    x = torch.randn(2, 8, 4, 4, requires_grad=True)
    out = layer(x)
    (out.modulated.sum() + out.codebook_loss + out.commitment_loss).backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None, name
    assert x.grad is not None


def test_light_head_and_paper_head_shapes():
    x = torch.randn(2, 16, 8, 8)
    assert LightAttentionHead(16)(x).shape == (2, 1, 8, 8)
    stage = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
    head = PaperAttentionHead(stride_one_copy(stage), 32, num_classes=10)
    assert head(x).shape == (2, 1, 8, 8)
    layer = IBSpatialAttention(16, head=head)
    assert layer(x).attention_mean.shape == (2, 1, 8, 8)


def test_stride_one_copy_keeps_resolution_and_copies_weights():
    stage = nn.Sequential(
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.AvgPool2d(2, 2), nn.MaxPool2d(3, 2, 1)
    )
    copied = stride_one_copy(stage)
    x = torch.randn(1, 4, 9, 9)
    assert stage(x).shape[-2:] == (1, 1)  # 9 -> 5 -> 2 -> 1
    assert copied(x).shape[-2:] == (9, 9)
    assert stage[0].stride == (2, 2)  # the original is untouched
    assert copied[0].weight is not stage[0].weight
    torch.testing.assert_close(copied[0].weight, stage[0].weight)


def test_paper_head_resizes_when_stage_changes_size():
    stage = nn.Conv2d(4, 6, 2)  # 'valid' conv: H-1
    head = PaperAttentionHead(stage, 6, num_classes=3)
    assert head(torch.randn(2, 4, 7, 7)).shape == (2, 1, 7, 7)


def test_torchscript_and_plain_paths_agree():
    layer = IBSpatialAttention(8, num_anchors=20, learn_anchors=True).eval()
    x = torch.randn(2, 8, 5, 5)
    eager = layer(x)
    scripted = torch.jit.script(layer)
    out = scripted(x)
    torch.testing.assert_close(out[0], eager.modulated)
    torch.testing.assert_close(out[1], eager.attention_mean)


def test_fx_trace():
    layer = IBSpatialAttention(8).eval()
    graph = torch.fx.symbolic_trace(layer)
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(graph(x)[0], layer(x).modulated)


@pytest.mark.parametrize("num_anchors", [None, 20])
def test_bf16_autocast_on_cpu_is_finite(num_anchors):
    layer = IBSpatialAttention(16, num_anchors=num_anchors, learn_anchors=True).train()
    x = torch.randn(4, 16, 6, 6) * 50  # large features
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
        loss = out.modulated.float().mean()
        if num_anchors:
            loss = loss + out.codebook_loss + out.commitment_loss
    assert torch.isfinite(out.modulated).all() and torch.isfinite(loss)
    loss.backward()
    for name, p in layer.named_parameters():
        assert torch.isfinite(p.grad).all(), name


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="in_chs"):
        IBSpatialAttention(0)
    with pytest.raises(TypeError, match="in_chs"):
        IBSpatialAttention(8.0)
    with pytest.raises(ValueError, match="head"):
        IBSpatialAttention(8, head="heavy")
    with pytest.raises(ValueError, match="num_anchors"):
        IBSpatialAttention(8, num_anchors=1)
    with pytest.raises(ValueError, match="mc_samples"):
        IBSpatialAttention(8, mc_samples=0)
    with pytest.raises(ValueError, match=r"modulation .* 'multiply'"):
        IBSpatialAttention(8, modulation="multiply")
    with pytest.raises(TypeError, match="stage"):
        PaperAttentionHead("layer4", 8, 10)
    layer = IBSpatialAttention(8)
    with pytest.raises(ValueError, match=r"4-D feature map .* 3-D"):
        layer(torch.randn(8, 5, 5))
    with pytest.raises(ValueError, match=r"in_chs=8 .* 6 channels"):
        layer(torch.randn(2, 6, 5, 5))
