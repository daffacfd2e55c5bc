"""Hooks of the MMPretrain adapter (registered in mmpretrain's HOOKS).

The beta warm-up uses mmpretrain's own ``WarmupParamHook``::

    dict(type='WarmupParamHook', module_name='neck.objective', param_name='beta',
         warmup_epochs=5)
"""

from .attention_vis import AttentionVisualizationHook, attention_panel
from .ib_stats import IBStatsHook, ib_statistics

__all__ = ["AttentionVisualizationHook", "IBStatsHook", "attention_panel", "ib_statistics"]
