"""Hooks of the MMPretrain adapter (registered in mmpretrain's HOOKS).

The beta warm-up uses mmpretrain's own ``WarmupParamHook``::

    dict(type='WarmupParamHook', module_name='neck.objective', param_name='beta',
         warmup_epochs=5)
"""

from .attention_vis import AttentionVisualizationHook, attention_panel
from .epoch_seed import EpochSeedHook, epoch_seed

__all__ = [
    "AttentionVisualizationHook",
    "EpochSeedHook",
    "attention_panel",
    "epoch_seed",
]
