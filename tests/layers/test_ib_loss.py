import math

import pytest
import torch
import torch.nn.functional as F

from aib_plugin.layers import (
    IBDecoder,
    IBObjective,
    IBSpatialAttention,
    VariationalBottleneck,
    classifier_confidence,
    cross_entropy_bits,
    ib_param_groups,
    mc_average,
)


def _forward(num_anchors=None):
    attention = IBSpatialAttention(8, num_anchors=num_anchors, learn_anchors=True).train()
    bottleneck = VariationalBottleneck(8, bottleneck_dim=16).train()
    att = attention(torch.randn(4, 8, 5, 5))
    bot = bottleneck(att.modulated.mean(dim=(2, 3)))
    return att, bot


def _attention_and_input():
    torch.manual_seed(0)
    return IBSpatialAttention(8).train(), torch.randn(8, 8, 6, 6)


def _fit_alone(attention, x, objective, optimizer_cls, lr, steps):
    """Train ``attention`` on the IB terms alone (no classification loss)."""
    bottleneck = VariationalBottleneck(8, bottleneck_dim=16).train()
    optimizer = optimizer_cls(attention.parameters(), lr=lr)
    for _ in range(steps):
        att = attention(x)
        loss = objective(bottleneck(att.modulated.mean(dim=(2, 3))), att).total()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_terms_are_weighted_once():
    att, bot = _forward(num_anchors=20)
    terms = IBObjective(beta=0.5, codebook_weight=0.4, commitment_weight=0.1)(bot, att)
    torch.testing.assert_close(terms.kl, 0.5 * bot.kl_bits)
    torch.testing.assert_close(terms.codebook, 0.4 * att.codebook_loss)
    torch.testing.assert_close(terms.commitment, 0.1 * att.commitment_loss)
    torch.testing.assert_close(terms.total(), terms.kl + terms.codebook + terms.commitment)
    assert set(terms.losses()) == {"loss_kl", "loss_vq", "loss_commit"}
    logged = terms.log_values()
    assert logged["kl_bits"] == pytest.approx(bot.kl_bits.item())
    assert logged["vq"] == pytest.approx(att.codebook_loss.item())


def test_without_anchors_only_kl():
    att, bot = _forward()
    terms = IBObjective()(bot, att)
    assert terms.codebook is None and terms.commitment is None
    assert set(terms.losses()) == {"loss_kl"}
    torch.testing.assert_close(terms.total(), 0.01 * bot.kl_bits)


def test_paper_defaults():
    objective = IBObjective()
    assert (objective.beta, objective.codebook_weight, objective.commitment_weight) == (
        0.01,
        0.4,
        0.1,
    )
    assert objective.area_weight == 0.0  # the area term is this package's option, off by default


def test_area_term_prices_the_attended_area():
    att, bot = _forward(num_anchors=20)
    terms = IBObjective(area_weight=0.3)(bot, att)
    torch.testing.assert_close(terms.area_raw, att.attention_mean.mean())
    torch.testing.assert_close(terms.area, 0.3 * att.attention_mean.mean())
    torch.testing.assert_close(
        terms.total(), terms.kl + terms.codebook + terms.commitment + terms.area
    )
    assert set(terms.losses()) == {"loss_kl", "loss_vq", "loss_commit", "loss_area"}
    assert terms.log_values()["area"] == pytest.approx(att.attention_mean.mean().item())


def test_area_term_lowers_the_map_where_nothing_else_pulls():
    """Alone (no classification loss), the area term drives the attention mean down."""
    attention, x = _attention_and_input()
    before = attention(x).attention_mean.mean().item()
    _fit_alone(attention, x, IBObjective(beta=0.0, area_weight=1.0), torch.optim.SGD, 0.5, 30)
    after = attention(x).attention_mean.mean().item()
    assert before > 0.3 and after < 0.5 * before


def test_peak_area_mode_adds_each_maps_distance_from_a_full_peak():
    att, bot = _forward()
    mu = att.attention_mean
    terms = IBObjective(area_weight=0.2, area_mode="peak")(bot, att)
    expected = mu.mean() + 1.0 - mu.amax(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(terms.area_raw, expected)
    torch.testing.assert_close(terms.area, 0.2 * expected)
    assert "area_mode='peak'" in repr(IBObjective(area_mode="peak"))
    with pytest.raises(ValueError, match=r"area_mode .* 'max'"):
        IBObjective(area_mode="max")


def _map_after_area_price_alone(mode: str, area_free: float = 0.0) -> torch.Tensor:
    """The attention mean after 60 Adam steps on the area term of ``mode`` alone (weight 1)."""
    attention, x = _attention_and_input()
    objective = IBObjective(beta=0.0, area_weight=1.0, area_mode=mode, area_free=area_free)
    _fit_alone(attention, x, objective, torch.optim.Adam, 0.05, 60)
    with torch.no_grad():
        return attention(x).attention_mean


def test_peak_area_mode_keeps_a_peak_where_the_mean_mode_lets_the_map_fall():
    """Alone (no classification loss), both modes shrink the map; 'peak' keeps each map's top."""
    peaks = {}
    for mode in ("mean", "peak"):
        mu = _map_after_area_price_alone(mode)
        peaks[mode] = (mu.amax(dim=(1, 2, 3)).mean().item(), mu.mean().item())
    assert peaks["mean"][1] < 0.15 and peaks["peak"][1] < 0.15  # both: a small area
    assert peaks["mean"][0] < 0.7 and peaks["peak"][0] > 0.95  # only 'peak' keeps a full peak


def test_relative_area_mode_is_each_maps_area_over_its_peak():
    att, bot = _forward()
    mu = att.attention_mean
    terms = IBObjective(area_weight=0.3, area_mode="relative")(bot, att)
    expected = (mu.mean(dim=(1, 2, 3)) / mu.amax(dim=(1, 2, 3))).mean()
    torch.testing.assert_close(terms.area_raw, expected)
    torch.testing.assert_close(terms.area, 0.3 * expected)
    scaled = att._replace(attention_mean=0.1 * mu)  # a faded map: same shape, lower level
    torch.testing.assert_close(
        IBObjective(area_weight=0.3, area_mode="relative")(bot, scaled).area_raw, expected
    )


def test_relative_area_mode_sharpens_the_map_instead_of_fading_it():
    """Alone (no classification loss), 'mean' lowers the whole map; 'relative' lowers the map
    against its peak, so the peak stays while the rest falls."""
    stats = {}
    for mode in ("mean", "relative"):
        mu = _map_after_area_price_alone(mode)
        peak = mu.amax(dim=(1, 2, 3))
        stats[mode] = (peak.mean().item(), (mu.mean(dim=(1, 2, 3)) / peak).mean().item())
    assert stats["mean"][0] < 0.7 and stats["relative"][0] > 0.9  # only 'relative' keeps a peak
    assert stats["relative"][1] < 0.3  # and most of the map is well below it


@pytest.mark.parametrize("mode", ["mean", "relative"])
def test_free_area_prices_each_map_only_above_it(mode):
    att, bot = _forward()
    mu = att.attention_mean.detach().clone().requires_grad_(True)
    area = mu.mean(dim=(1, 2, 3))
    if mode == "relative":
        area = area / mu.amax(dim=(1, 2, 3))
    free = float(area.detach().sort().values[1])  # between the areas: some maps above, some not
    objective = IBObjective(area_weight=0.3, area_mode=mode, area_free=free)
    terms = objective(bot, att._replace(attention_mean=mu))
    torch.testing.assert_close(terms.area_raw, (area - free).clamp_min(0).mean())
    terms.area.backward()
    below = area.detach() <= free
    assert below.any() and (~below).any()
    assert torch.all(mu.grad[below] == 0)  # a map within the free area is not priced at all
    assert torch.all(mu.grad[~below].abs().sum(dim=(1, 2, 3)) > 0)
    assert f"area_free={free}" in repr(objective)


def test_free_area_stops_the_relative_price_from_shrinking_the_map_to_a_spot():
    """Alone, the relative price sharpens a map without end; with a free area of 0.25 it stops
    where the map's area over its peak reaches that share."""
    shares = {}
    for free in (0.0, 0.25):
        mu = _map_after_area_price_alone("relative", free)
        shares[free] = (mu.mean(dim=(1, 2, 3)) / mu.amax(dim=(1, 2, 3))).mean().item()
    assert shares[0.0] < 0.2
    assert shares[0.25] == pytest.approx(0.25, abs=0.05)


def test_classifier_confidence_is_zero_at_chance_and_one_when_certain():
    assert classifier_confidence(torch.zeros(6, 10)).item() == pytest.approx(0.0, abs=1e-6)
    certain = torch.full((6, 10), -1e4)
    certain[:, 3] = 1e4
    assert classifier_confidence(certain).item() == pytest.approx(1.0)
    halfway = torch.log(torch.tensor([[0.55] + [0.05] * 9] * 2))  # max p 0.55: half the way
    assert classifier_confidence(halfway).item() == pytest.approx(0.5, abs=1e-6)
    logits = torch.randn(4, 5, requires_grad=True)
    assert not classifier_confidence(logits).requires_grad  # a factor, not a loss
    for bad in (torch.zeros(4), torch.zeros(4, 1), torch.zeros(2, 3, 4)):
        with pytest.raises(ValueError, match=r"logits must be \(batch, classes >= 2\)"):
            classifier_confidence(bad)


def test_confidence_gate_scales_only_the_area_price():
    att, bot = _forward(num_anchors=8)
    gated = IBObjective(area_weight=0.5, area_mode="relative", area_gate="confidence")
    terms = gated(bot, att)
    logits = torch.log(torch.tensor([[0.55] + [0.05] * 9] * 4))
    out = gated.gate(terms, logits)
    torch.testing.assert_close(out.area, 0.5 * terms.area)
    assert out.area_gate.item() == pytest.approx(0.5, abs=1e-6)
    assert (out.kl, out.codebook, out.commitment, out.area_raw) == (
        terms.kl, terms.codebook, terms.commitment, terms.area_raw,
    )  # fmt: skip
    assert out.log_values()["area_gate"] == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="needs the pass's logits"):
        gated.gate(terms, None)
    ungated = IBObjective(area_weight=0.5, area_mode="relative")
    assert not ungated.needs_logits and ungated.gate(terms, None) is terms
    assert not IBObjective(area_gate="confidence").needs_logits  # no area price: nothing to gate
    assert "area_gate='confidence'" in repr(gated)
    with pytest.raises(ValueError, match="area_gate"):
        IBObjective(area_gate="accuracy")


@pytest.mark.parametrize("value", [1.0, 1.5, -0.1, float("nan")])
def test_free_area_out_of_range_rejected(value):
    with pytest.raises(ValueError, match="area_free"):
        IBObjective(area_weight=1.0, area_free=value)
    with pytest.raises(TypeError, match="area_free"):
        IBObjective(area_free="0.1")


@pytest.mark.parametrize("name", ["beta", "codebook_weight", "commitment_weight", "area_weight"])
def test_negative_weights_rejected(name):
    with pytest.raises(ValueError, match=name):
        IBObjective(**{name: -0.01})
    with pytest.raises(TypeError, match=name):
        IBObjective(**{name: "0.1"})


def test_cross_entropy_in_bits():
    logits, target = torch.randn(5, 3), torch.tensor([0, 1, 2, 1, 0])
    expected = F.cross_entropy(logits, target) / math.log(2)
    torch.testing.assert_close(cross_entropy_bits(logits, target), expected)


def test_decoder_and_feature_extractor():
    decoder = IBDecoder(16, 10)
    z = torch.randn(3, 16)
    torch.testing.assert_close(decoder(z), decoder.fc(torch.relu(z)))
    assert torch.equal(IBDecoder(16, 0)(z), torch.relu(z))
    with pytest.raises(ValueError, match="num_classes"):
        IBDecoder(16, -1)


def test_mc_average_is_per_input_mean():
    per_sample = torch.arange(12.0).reshape(6, 2)  # 3 samples x batch 2
    torch.testing.assert_close(mc_average(per_sample, 2), torch.tensor([[4.0, 5.0], [6.0, 7.0]]))
    with pytest.raises(ValueError, match="batch_size=4"):
        mc_average(per_sample, 4)


def test_full_pipeline_mc_16_samples_averages_logits():
    attention = IBSpatialAttention(8, mc_samples=4).eval()
    bottleneck = VariationalBottleneck(8, bottleneck_dim=16, mc_samples=4).eval()
    decoder = IBDecoder(16, 5)
    x = torch.randn(3, 8, 4, 4)
    logits = decoder(bottleneck(attention(x).modulated.mean(dim=(2, 3))).z)
    assert logits.shape == (48, 5)
    assert mc_average(logits, 3).shape == (3, 5)


def test_anchor_param_group_gets_paper_ratio():
    model = torch.nn.Sequential(
        IBSpatialAttention(8, num_anchors=20, learn_anchors=True), torch.nn.Linear(2, 2)
    )
    groups = ib_param_groups(model, lr=0.1)
    assert len(groups) == 2
    assert groups[1]["lr"] == pytest.approx(0.1 * 1e-4)
    assert groups[1]["params"][0] is model[0].quantizer.anchors
    n_params = sum(len(g["params"]) for g in groups)
    assert n_params == len(list(model.parameters()))
    assert len(ib_param_groups(torch.nn.Linear(2, 2), lr=0.1)) == 1
    torch.optim.SGD(groups, lr=0.1)  # accepted by a real optimizer


def test_mc_average_scripts():
    scripted = torch.jit.script(mc_average)
    values = torch.randn(8, 3, 2)
    torch.testing.assert_close(scripted(values, 2), mc_average(values, 2))


def test_unweighted_terms_are_detached():
    att, bot = _forward(num_anchors=20)
    raw = IBObjective(beta=3.0)(bot, att).unweighted()
    assert set(raw) == {"kl_bits", "vq", "commit"}
    assert not any(v.requires_grad for v in raw.values())
    torch.testing.assert_close(raw["kl_bits"], bot.kl_bits.detach())
