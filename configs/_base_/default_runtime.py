# Runtime settings shared by every config: MMPretrain's default runtime, plus the import that
# registers this package's components (custom_imports in --cfg-options is never imported).

custom_imports = dict(imports=["aib_plugin.mmpretrain"], allow_failed_imports=False)

default_scope = "mmpretrain"
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=100),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="VisualizationHook", enable=False),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present
    dist_cfg=dict(backend="nccl"),
)
# add dict(type='TensorboardVisBackend') to get the attention overlays in TensorBoard
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="UniversalVisualizer", vis_backends=vis_backends)
log_level = "INFO"
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
