# AIB ResNet-18 on CIFAR100: the paper's CIFAR schedule (SGD 0.1, 200 epochs, x0.2 at 60/120/160,
# batch 128)
# Self-contained MMPretrain config: no base configs to inherit.
# Train:  python tools/train.py configs/resnet18_aib_8xb16_cifar100.py
# The AIB parts are marked "AIB"; everything else is a stock MMPretrain config.

# AIB: registers IBAttention, IBImageClassifier, IBTimmClassifier, the IB hooks, WideResNet_CIFAR
custom_imports = dict(imports=["aib_plugin.mmpretrain"], allow_failed_imports=False)

# model settings
model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    backbone=dict(
        type="ResNet_CIFAR",
        depth=18,
        num_stages=4,
        out_indices=(3,),
        style="pytorch",
    ),
    neck=dict(  # AIB: was GlobalAveragePooling
        type="IBAttention",
        in_channels=512,
        bottleneck_dim=256,  # K
        kl="paper",  # the authors' KL; 'vib' = textbook (re-tune beta)
        beta=0.01,
        mc_samples=1,  # deterministic evaluation; the paper tests with 4 (4 x 4 samples)
    ),
    head=dict(
        type="LinearClsHead",
        num_classes=100,
        in_channels=256,  # AIB: = neck bottleneck_dim
        # AIB: cross-entropy in bits (1 / ln 2), as the paper's objective
        loss=dict(type="CrossEntropyLoss", loss_weight=1.4426950408889634),
        topk=(1, 5),
    ),
)

# dataset settings
dataset_type = "CIFAR100"
data_preprocessor = dict(
    num_classes=100,
    # RGB format normalization parameters
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    # loaded images are already RGB format
    to_rgb=False,
)

train_pipeline = [
    dict(type="RandomCrop", crop_size=32, padding=4, padding_mode="reflect"),
    dict(type="RandomFlip", prob=0.5, direction="horizontal"),
    dict(type="PackInputs"),
]

test_pipeline = [
    dict(type="PackInputs"),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        type=dataset_type, data_root="data/cifar100", split="train", pipeline=train_pipeline
    ),
    sampler=dict(type="DefaultSampler", shuffle=True),
)

val_dataloader = dict(
    batch_size=100,
    num_workers=2,
    dataset=dict(
        type=dataset_type, data_root="data/cifar100", split="test", pipeline=test_pipeline
    ),
    sampler=dict(type="DefaultSampler", shuffle=False),
)
val_evaluator = dict(type="Accuracy", topk=(1,))

test_dataloader = val_dataloader
test_evaluator = val_evaluator

# optimizer
optim_wrapper = dict(
    optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4),
)

# learning policy
param_scheduler = dict(type="MultiStepLR", by_epoch=True, milestones=[60, 120, 160], gamma=0.2)

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=128)

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
    dict(type="AttentionVisualizationHook", interval=20, num_images=8),
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
