# The runtime of the short cluttered-data runs: ./default_runtime.py, logging every 20
# iterations, one checkpoint kept, a fixed seed.

_base_ = ["./default_runtime.py"]

default_hooks = dict(
    logger=dict(type="LoggerHook", interval=20),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=1),
)
randomness = dict(seed=0, deterministic=False)
