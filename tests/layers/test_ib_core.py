"""``IBOptions``: the one place the shared IB options are validated and turned into parts."""

import pytest
import torch

from aib_plugin.layers import IBOptions, run_pooled_ib, split_mc_samples


def test_one_mc_samples_rule() -> None:
    assert split_mc_samples(4) == (4, 4)
    assert split_mc_samples((2, 3)) == split_mc_samples([2, 3]) == (2, 3)
    for bad, error in [
        ("4", TypeError),
        ((1, 2, 3), TypeError),
        (True, TypeError),
        (0, ValueError),
    ]:
        with pytest.raises(error, match="mc_samples"):
            split_mc_samples(bad)


def test_split_separates_ib_options_from_the_rest() -> None:
    options, rest = IBOptions.split(dict(beta=0.5, num_anchors=8, drop_rate=0.1))
    assert (options.beta, options.num_anchors) == (0.5, 8)
    assert rest == {"drop_rate": 0.1}
    with pytest.raises(ValueError, match="area_mode must be one of"):
        IBOptions(area_mode="max")
    with pytest.raises(TypeError, match="learn_anchors must be True or False"):
        IBOptions(learn_anchors=1)


def test_the_parts_carry_the_options() -> None:
    options = IBOptions(
        bottleneck_dim=16, num_anchors=5, learn_anchors=True, mc_samples=(2, 3), kl="vib"
    )
    attention = options.attention(8, options.light_head(8))
    bottleneck = options.bottleneck(8)
    assert attention.mc_samples == 2 and attention.quantizer.learnable
    assert bottleneck.mc_samples == 3 and bottleneck.kl == "vib"
    assert options.decoder(10).fc.in_features == 16
    run = run_pooled_ib(
        torch.randn(2, 8, 4, 4), attention.train(), bottleneck.train(), options.objective()
    )
    assert run.code.z.shape == (2, 16)
    assert set(run.terms.losses()) == {"loss_kl", "loss_vq", "loss_commit"}
