import pytest
import torch

from aib_plugin.layers import AnchorQuantizer, anchor_usage


def test_anchors_start_evenly_spaced():
    q = AnchorQuantizer(num_anchors=5)
    torch.testing.assert_close(q.anchors.data, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))


def test_quantized_values_are_exactly_anchors_and_nearest():
    q = AnchorQuantizer(num_anchors=20)
    x = torch.rand(3, 1, 7, 5) * 1.4 - 0.2  # also outside [0, 1]
    out = q(x)
    anchors = q.anchors.detach()
    assert torch.isin(out.quantized.detach(), anchors).all()
    nearest = (x.unsqueeze(-1) - anchors).abs().argmin(-1)
    assert torch.equal(out.indices, nearest)
    assert out.quantized.shape == x.shape


def test_straight_through_gradient_and_anchor_gradient():
    q = AnchorQuantizer(num_anchors=4)
    x = torch.rand(2, 1, 3, 3, requires_grad=True)
    out = q(x)
    weight = torch.randn_like(x)
    (out.quantized * weight).sum().backward(retain_graph=True)
    # straight-through: d(quantized)/dx is the identity
    torch.testing.assert_close(x.grad, weight)
    assert q.anchors.grad is None or torch.count_nonzero(q.anchors.grad) == 0
    x.grad = None
    out.codebook_loss.backward(retain_graph=True)
    assert q.anchors.grad is not None and torch.count_nonzero(q.anchors.grad) > 0
    assert x.grad is None  # the codebook loss trains the anchors only
    q.anchors.grad = None
    out.commitment_loss.backward()
    assert x.grad is not None and torch.count_nonzero(x.grad) > 0
    assert q.anchors.grad is None  # the commitment loss moves the input only


def test_losses_are_mse_between_input_and_anchor():
    q = AnchorQuantizer(num_anchors=2)  # anchors 0 and 1
    x = torch.tensor([0.1, 0.8])
    out = q(x)
    expected = ((0.1 - 0.0) ** 2 + (0.8 - 1.0) ** 2) / 2
    assert out.codebook_loss.item() == pytest.approx(expected)
    assert out.commitment_loss.item() == pytest.approx(expected)


def test_usage_reports_collapse():
    q = AnchorQuantizer(num_anchors=10)
    collapsed = q.usage(q(torch.full((100,), 0.52)).indices)
    assert collapsed.active == 1 and collapsed.perplexity == pytest.approx(1.0)
    spread = q.usage(q(torch.linspace(0, 1, 10)).indices)
    assert spread.active == 10 and spread.perplexity == pytest.approx(10.0, rel=1e-5)
    assert spread.counts.tolist() == [1.0] * 10


@pytest.mark.parametrize("bad", [1, 0, -3])
def test_too_few_anchors(bad):
    with pytest.raises(ValueError, match="num_anchors"):
        AnchorQuantizer(num_anchors=bad)


@pytest.mark.parametrize("bad", [2.5, "20", None, True])
def test_anchor_count_type(bad):
    with pytest.raises(TypeError, match="num_anchors"):
        AnchorQuantizer(num_anchors=bad)


def test_bad_init_range_and_lr_ratio():
    with pytest.raises(ValueError, match="init_range"):
        AnchorQuantizer(4, init_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="anchor_lr_ratio"):
        AnchorQuantizer(4, anchor_lr_ratio=-1e-4)
    with pytest.raises(ValueError, match="num_anchors"):
        anchor_usage(torch.zeros(3, dtype=torch.long), 1)


def test_frozen_anchors_are_a_buffer_without_codebook_loss():
    frozen = AnchorQuantizer(5, learnable=False)
    assert [name for name, _ in frozen.named_parameters()] == []
    assert "anchors" in dict(frozen.named_buffers())
    x = torch.rand(2, 1, 4, 4, requires_grad=True)
    out = frozen(x)
    assert out.codebook_loss is None
    torch.testing.assert_close(frozen.anchors, torch.linspace(0, 1, 5))
    # the same assignments, values and commitment loss as learnable anchors at their start
    learnable = AnchorQuantizer(5)
    ref = learnable(x)
    assert torch.equal(out.indices, ref.indices) and torch.equal(out.quantized, ref.quantized)
    torch.testing.assert_close(out.commitment_loss, ref.commitment_loss)
    out.quantized.sum().backward()  # straight through to the input
    torch.testing.assert_close(x.grad, torch.ones_like(x))
    with pytest.raises(TypeError, match="learnable must be True or False, got 'yes'"):
        AnchorQuantizer(5, learnable="yes")


def test_attention_freezes_its_anchors_by_default():
    from aib_plugin.layers import IBSpatialAttention

    frozen = IBSpatialAttention(8, num_anchors=20).train()
    assert not any("anchors" in name for name, _ in frozen.named_parameters())
    out = frozen(torch.randn(2, 8, 4, 4))
    assert out.codebook_loss is None and out.commitment_loss is not None
    learned = IBSpatialAttention(8, num_anchors=20, learn_anchors=True)
    assert "quantizer.anchors" in dict(learned.named_parameters())
