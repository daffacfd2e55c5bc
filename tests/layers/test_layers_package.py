import subprocess
import sys

import torch

from aib_plugin.layers import (
    IBDecoder,
    IBObjective,
    IBSpatialAttention,
    VariationalBottleneck,
    cross_entropy_bits,
    ib_param_groups,
)


def test_layers_import_torch_only():
    code = (
        "import sys, aib_plugin.layers; "
        "bad = [m for m in ('timm', 'mmengine', 'mmpretrain') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_toy_aib_model_learns_under_bf16_autocast():
    """Front -> attention -> pool -> bottleneck -> decoder; the IB objective trains end to end."""
    front = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU())
    attention = IBSpatialAttention(8, num_anchors=20)
    bottleneck = VariationalBottleneck(8, bottleneck_dim=16)
    decoder = IBDecoder(16, 2)
    modules = torch.nn.ModuleList([front, attention, bottleneck, decoder])
    optimizer = torch.optim.Adam(ib_param_groups(modules, lr=1e-2))
    objective = IBObjective()
    # class 1: a bright square in the top-left corner; class 0: empty
    x = torch.randn(32, 1, 8, 8) * 0.1
    y = torch.arange(32) % 2
    x[y == 1, :, :3, :3] += 2.0
    losses = []
    for _ in range(40):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            att = attention(front(x))
            bot = bottleneck(att.modulated.mean(dim=(2, 3)))
            logits = decoder(bot.z)
        terms = objective(bot, att)
        loss = cross_entropy_bits(logits, y) + terms.total()
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        for p in modules.parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    modules.eval()
    with torch.no_grad():
        logits = decoder(bottleneck(attention(front(x)).modulated.mean(dim=(2, 3))).z)
    assert (logits.argmax(1) == y).float().mean() > 0.9
