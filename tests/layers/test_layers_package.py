import ast
import sys
from pathlib import Path

import torch

import aib_plugin.layers
from aib_plugin.layers import (
    IBDecoder,
    IBObjective,
    IBSpatialAttention,
    VariationalBottleneck,
    cross_entropy_bits,
    ib_param_groups,
)


def test_layers_import_torch_only():
    """layers/ is pure PyTorch: every import is torch, the standard library or relative."""
    allowed = {"torch"} | set(sys.stdlib_module_names)
    layers_dir = Path(aib_plugin.layers.__file__).parent
    for path in sorted(layers_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            assert set(roots) <= allowed, f"{path.name} imports {roots}"


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
