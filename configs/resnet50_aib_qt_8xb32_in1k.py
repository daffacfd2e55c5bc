# AIB quantized (Q=20 anchors) ResNet-50 on ImageNet-1k, MMPretrain's ResNet-50 schedule (SGD 0.1,
# 100 epochs, x0.1 at 30/60/90, batch 256)
# Self-contained MMPretrain config: no base configs to inherit.
# Train:  python tools/train.py configs/resnet50_aib_qt_8xb32_in1k.py
# The AIB parts are marked "AIB"; everything else is a stock MMPretrain config.

# AIB: registers IBAttention, IBImageClassifier, IBTimmClassifier, the IB hooks, WideResNet_CIFAR
custom_imports = dict(imports=["aib_plugin.mmpretrain"], allow_failed_imports=False)

# model settings
model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    backbone=dict(
        type="ResNet",
        depth=50,
        num_stages=4,
        out_indices=(3,),
        style="pytorch",
    ),
    neck=dict(  # AIB: was GlobalAveragePooling
        type="IBAttention",
        in_channels=2048,
        bottleneck_dim=256,  # K
        kl="paper",  # the authors' KL; 'vib' = textbook (re-tune beta)
        beta=0.01,
        num_anchors=20,  # AIB quantized (_qt): Q anchors
        mc_samples=1,  # deterministic evaluation; the paper tests with 4 (4 x 4 samples)
    ),
    head=dict(
        type="LinearClsHead",
        num_classes=1000,
        in_channels=256,  # AIB: = neck bottleneck_dim
        # AIB: cross-entropy in bits (1 / ln 2), as the paper's objective
        loss=dict(type="CrossEntropyLoss", loss_weight=1.4426950408889634),
        topk=(1, 5),
    ),
)

# dataset settings
dataset_type = "ImageNet"
data_preprocessor = dict(
    num_classes=1000,
    # RGB format normalization parameters
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # convert image from BGR to RGB
    to_rgb=True,
)

train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="RandomResizedCrop", scale=224),
    dict(type="RandomFlip", prob=0.5, direction="horizontal"),
    dict(type="PackInputs"),
]

test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="ResizeEdge", scale=256, edge="short"),
    dict(type="CenterCrop", crop_size=224),
    dict(type="PackInputs"),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=5,
    dataset=dict(
        type=dataset_type, data_root="data/imagenet", split="train", pipeline=train_pipeline
    ),
    sampler=dict(type="DefaultSampler", shuffle=True),
)

val_dataloader = dict(
    batch_size=32,
    num_workers=5,
    dataset=dict(type=dataset_type, data_root="data/imagenet", split="val", pipeline=test_pipeline),
    sampler=dict(type="DefaultSampler", shuffle=False),
)
val_evaluator = dict(type="Accuracy", topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator

# optimizer
optim_wrapper = dict(
    optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4),
    # AIB: the paper trains the anchors with 1e-4 x the base learning rate
    paramwise_cfg=dict(custom_keys={".anchors": dict(lr_mult=1e-4)}),
)

# learning policy
param_scheduler = dict(type="MultiStepLR", by_epoch=True, milestones=[30, 60, 90], gamma=0.1)

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=256)

# defaults to use registries in mmpretrain
default_scope = "mmpretrain"

# configure default hooks
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=100),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="VisualizationHook", enable=False),
)

# AIB: IB statistics in the log and attention overlays of 8 fixed validation images
custom_hooks = [
    dict(type="IBStatsHook", interval=100),
    dict(type="AttentionVisualizationHook", interval=5, num_images=8),
    # optional beta warm-up with mmpretrain's own hook (not in the paper):
    # dict(type='WarmupParamHook', module_name='neck.objective', param_name='beta',
    #      warmup_epochs=5),
]

# configure environment
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present
    dist_cfg=dict(backend="nccl"),
)

# set visualizer (add dict(type='TensorboardVisBackend') to get the overlays in TensorBoard)
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="UniversalVisualizer", vis_backends=vis_backends)

log_level = "INFO"
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
