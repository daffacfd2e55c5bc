# The AIB hooks: IB statistics in the log and attention overlays of fixed validation images.
# Optional beta warm-up with MMPretrain's own hook (not in the paper):
#   dict(type='WarmupParamHook', module_name='neck.objective', param_name='beta', warmup_epochs=5)
# (module_name='model.objective' for IBTimmClassifier).

custom_hooks = [
    dict(type="IBStatsHook", interval=100),
    dict(type="AttentionVisualizationHook", interval=20, num_images=8),
]
