# AIB ResNet-50 on ImageNet-1k, MMPretrain's ResNet-50 schedule (SGD 0.1, 100 epochs, x0.1 at
# 30/60/90, batch 256)
# Runtime, the CE-in-bits loss and the AIB hooks come from configs/_base_/.
# Train:  python tools/train.py configs/resnet50_aib_8xb32_in1k.py
# The AIB parts are marked "AIB"; everything else is a stock MMPretrain config.

_base_ = ["./_base_/default_runtime.py", "./_base_/ce_bits_head.py", "./_base_/aib_hooks.py"]

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
        mc_samples=1,  # deterministic evaluation; the paper tests with 4 (4 x 4 samples)
    ),
    head=dict(
        type="LinearClsHead",
        num_classes=1000,
        in_channels=256,  # AIB: = neck bottleneck_dim
        # AIB: the loss is cross-entropy in bits (_base_/ce_bits_head.py)
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
)

# learning policy
param_scheduler = dict(type="MultiStepLR", by_epoch=True, milestones=[30, 60, 90], gamma=0.1)

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=256)

custom_hooks = [
    dict(type="AttentionVisualizationHook", interval=5, num_images=8),
]
