# Plain baseline on cluttered digits (the demo's reference model): a narrow ResNet-18 for 64x64
# gray digits among clutter, no AIB. Self-contained MMPretrain config; the AIB configs beside it
# inherit from this file and add the neck.
# Train: python tools/train.py configs/cluttered_digits/resnet18_1xb32_cluttered-digits.py

custom_imports = dict(imports=["aib_plugin.mmpretrain"], allow_failed_imports=False)

model = dict(
    type="ImageClassifier",
    backbone=dict(
        type="ResNet_CIFAR",  # 3x3 stem, no max-pool
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(2, 2, 2, 1),  # 64x64 input -> an 8x8 last stage
        out_indices=(3,),
    ),
    neck=dict(type="GlobalAveragePooling"),
    head=dict(
        type="LinearClsHead",
        num_classes=10,
        in_channels=128,
        # CE in bits (1 / ln 2) as in the AIB objective, so both models see the same loss scale
        loss=dict(type="CrossEntropyLoss", loss_weight=1.4426950408889634),
        topk=(1,),
    ),
)

data_preprocessor = dict(num_classes=10, mean=[20.0] * 3, std=[50.0] * 3, to_rgb=False)

dataset_type = "ClutteredDigits"  # generated in memory from scikit-learn's digits: no download
data_args = dict(canvas_size=64, digit_scale=3, num_clutter=6, clutter_size=10, seed=0)
pack = dict(type="PackInputs", meta_keys=("sample_idx", "img_shape", "ori_shape", "gt_bbox"))

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type=dataset_type, split="train", num_samples=3000, pipeline=[pack], **data_args),
    sampler=dict(type="DefaultSampler", shuffle=True),
)
val_dataloader = dict(
    batch_size=100,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type=dataset_type, split="test", num_samples=500, pipeline=[pack], **data_args),
    sampler=dict(type="DefaultSampler", shuffle=False),
)
val_evaluator = [dict(type="Accuracy", topk=(1,))]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type="AdamW", lr=2e-3, weight_decay=0.01))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),  # warm-up iters
    dict(type="CosineAnnealingLR", by_epoch=True, begin=0, eta_min=1e-4),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()

default_scope = "mmpretrain"
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=20),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="VisualizationHook", enable=False),
)
custom_hooks = []
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    dist_cfg=dict(backend="nccl"),
)
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="UniversalVisualizer", vis_backends=vis_backends)
log_level = "INFO"
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
