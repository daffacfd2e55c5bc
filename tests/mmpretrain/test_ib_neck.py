"""The IBAttention neck on its own."""

import pytest
import timm
import torch
from mmpretrain.registry import MODELS

from aib_plugin.layers import AnchorQuantizer, IBLossTerms
from aib_plugin.mmpretrain import IBAttention, IBNeckOutput


def _neck(**kwargs) -> IBAttention:
    cfg = dict(type="IBAttention", in_channels=16, bottleneck_dim=8)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_output_is_a_neck_tuple_with_ib_terms() -> None:
    neck = _neck(num_anchors=4, learn_anchors=True)
    out = neck.forward_ib((torch.randn(3, 8, 8, 8), torch.randn(3, 16, 4, 4)))
    assert isinstance(out, IBNeckOutput) and isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (3, 8)
    assert (out[0] >= 0).all(), "features are the decoder's relu(z)"
    assert isinstance(out.ib_terms, IBLossTerms)
    assert set(out.ib_terms.losses()) == {"loss_kl", "loss_vq", "loss_commit"}
    assert out.attention_map.shape == (3, 1, 4, 4)
    assert not out.attention_map.requires_grad
    assert out.anchor_indices.shape == (3, 1, 4, 4)
    assert set(out.ib_terms.unweighted()) == {"kl_bits", "vq", "commit"}


def test_ib_terms_are_weighted_by_the_config() -> None:
    neck = _neck(
        beta=0.5, num_anchors=3, learn_anchors=True, codebook_weight=2.0, commitment_weight=0.0
    )
    terms = neck.forward_ib(torch.randn(2, 16, 4, 4)).ib_terms
    assert torch.allclose(terms.kl, 0.5 * terms.kl_bits)
    assert torch.allclose(terms.codebook, 2.0 * terms.codebook_raw)
    assert float(terms.commitment.detach()) == 0.0


def test_eval_is_deterministic_and_training_is_not() -> None:
    torch.manual_seed(0)
    neck = _neck()
    x = torch.randn(2, 16, 4, 4)
    neck.train()
    assert not torch.equal(neck.forward_ib(x)[0], neck.forward_ib(x)[0])
    neck.eval()
    assert torch.equal(neck(x)[0], neck(x)[0])


def test_monte_carlo_evaluation_averages_to_the_batch() -> None:
    neck = _neck(mc_samples=(3, 2))
    neck.eval()
    x = torch.randn(2, 16, 4, 4)
    out = neck.forward_ib(x)
    assert out[0].shape == (2, 8)
    assert out.attention_map.shape == (2, 1, 4, 4)
    neck.attention.mc_samples = neck.bottleneck.mc_samples = 1
    assert not torch.allclose(out[0], neck(x)[0]), "sampling changed nothing"


def test_gradients_reach_the_attention_and_the_anchors() -> None:
    neck = _neck(num_anchors=5, learn_anchors=True)
    out = neck.forward_ib(torch.randn(2, 16, 4, 4))
    (out[0].sum() + out.ib_terms.total()).backward()
    anchors = next(m for m in neck.modules() if isinstance(m, AnchorQuantizer)).anchors
    assert anchors.grad is not None and anchors.grad.abs().sum() > 0
    assert neck.attention.head.reduce.weight.grad.abs().sum() > 0
    assert neck.bottleneck.fc.weight.grad.abs().sum() > 0


def test_nhwc_and_token_inputs() -> None:
    neck = _neck()
    assert neck.forward_ib(torch.randn(2, 4, 4, 16))[0].shape == (2, 8)  # NHWC (timm Swin)
    out = neck.forward_ib(torch.randn(2, 1 + 9, 16))  # ViT tokens with cls token
    assert out[0].shape == (2, 8) and out.attention_map.shape == (2, 1, 3, 3)


def test_stage_index_out_of_range() -> None:
    with pytest.raises(IndexError, match="stage_index=2 is out of range.*1 output"):
        _neck(stage_index=2).forward_ib((torch.randn(1, 16, 4, 4),))


@pytest.mark.parametrize("q, error", [(0, ValueError), (1, ValueError), (2.5, TypeError)])
def test_fewer_than_two_anchors_is_refused(q, error) -> None:
    """The errors of every IB option are the timm models' too (one IBOptions)."""
    with pytest.raises(error, match="num_anchors must be an int >= 2"):
        _neck(num_anchors=q)
    with pytest.raises(error, match="num_anchors must be an int >= 2"):
        timm.create_model("resnet18_aib", num_classes=2, num_anchors=q)


def test_bad_mc_samples() -> None:
    with pytest.raises(TypeError, match="mc_samples must be an int or a pair"):
        _neck(mc_samples=(1, 2, 3))
    with pytest.raises(ValueError, match="mc_samples must be an int >= 1"):
        _neck(mc_samples=(1, 0))


def test_a_plain_neck_call_refuses_a_training_forward_only() -> None:
    """``neck(x)`` is all a stock classifier calls: it would drop the IB terms in training."""
    neck = _neck()
    x = torch.randn(2, 16, 4, 4)
    with pytest.raises(TypeError, match="train without the IB loss terms.*IBImageClassifier"):
        neck(x)
    with torch.no_grad():  # nothing trains: nothing is dropped
        assert neck(x)[0].shape == (2, 8)
    neck.eval()
    out = neck(x)
    assert type(out) is tuple and len(out) == 1
    torch.testing.assert_close(out[0], neck.forward_ib(x)[0])


def test_placement_is_the_classifiers_option_and_standalone_is_deprecated() -> None:
    with pytest.raises(TypeError, match="attention_at='layer4'.*IBImageClassifier"):
        _neck(attention_at="layer4")
    with pytest.warns(DeprecationWarning, match="standalone"):
        neck = _neck(standalone=True)
    assert neck.with_attention and neck.attention is not None


def test_without_its_own_attention_the_neck_needs_the_backbones() -> None:
    neck = _neck(with_attention=False, pooled_channels=32)
    assert neck.attention is None and neck.bottleneck.fc.in_features == 32
    with pytest.raises(RuntimeError, match="needs the output of the attention"):
        neck.forward_ib(torch.randn(2, 32, 4, 4))
    attention = neck.build_attention()  # a new module each time, with the neck's options
    assert attention is not neck.build_attention() and attention.in_chs == 16
    out = neck.forward_ib(torch.randn(2, 32, 2, 2), attention=attention(torch.randn(2, 16, 4, 4)))
    assert out[0].shape == (2, 8) and out.attention_map.shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match="pooled_channels=32 differs"):
        _neck(pooled_channels=32)
