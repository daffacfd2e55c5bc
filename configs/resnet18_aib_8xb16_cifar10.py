# AIB ResNet-18 on CIFAR10: the paper's CIFAR schedule (SGD 0.1, 200 epochs, x0.2 at 60/120/160,
# batch 128)
# Runtime, the CE-in-bits loss and the AIB hooks come from configs/_base_/.
# Train:  python tools/train.py configs/resnet18_aib_8xb16_cifar10.py
# The AIB parts are marked "AIB"; everything else is a stock MMPretrain config.

_base_ = ["./_base_/default_runtime.py", "./_base_/ce_bits_head.py", "./_base_/aib_hooks.py"]

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
        num_classes=10,
        in_channels=256,  # AIB: = neck bottleneck_dim
        # AIB: the loss is cross-entropy in bits (_base_/ce_bits_head.py)
        topk=(1,),
    ),
)

# dataset settings
dataset_type = "CIFAR10"
data_preprocessor = dict(
    num_classes=10,
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
        type=dataset_type, data_root="data/cifar10", split="train", pipeline=train_pipeline
    ),
    sampler=dict(type="DefaultSampler", shuffle=True),
)

val_dataloader = dict(
    batch_size=100,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root="data/cifar10", split="test", pipeline=test_pipeline),
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

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=128)
