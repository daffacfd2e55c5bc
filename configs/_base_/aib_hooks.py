# The AIB hook: attention overlays of fixed validation images (the IB statistics need no hook:
# the IB classifiers put ib_kl_bits, ib_attn_mean, ... in their loss dict, which MMEngine logs).
# Optional beta warm-up with MMPretrain's own hook (not in the paper):
#   dict(type='WarmupParamHook', module_name='neck.objective', param_name='beta', warmup_epochs=5)
# (module_name='model.objective' for IBTimmClassifier).
# Optional guard: dict(type='IBLossGuardHook') refuses, before the first training step, a model
# that would drop the IB terms (aib_plugin.mmpretrain.guards).

custom_hooks = [
    dict(type="AttentionVisualizationHook", interval=20, num_images=8),
]
