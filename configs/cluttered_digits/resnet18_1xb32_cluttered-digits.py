# Plain baseline on cluttered digits (the demo's reference model): a narrow ResNet-18 for 64x64
# gray digits among clutter, no AIB. The AIB configs beside it inherit from this file and add the
# neck; runtime and the CE-in-bits loss come from configs/_base_/.
# Train: python tools/train.py configs/cluttered_digits/resnet18_1xb32_cluttered-digits.py

_base_ = ["../_base_/default_runtime.py", "../_base_/ce_bits_head.py"]

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
        # CE in bits (_base_/ce_bits_head.py) as in the AIB objective: both models see one scale
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
default_hooks = dict(
    logger=dict(type="LoggerHook", interval=20),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=1),
)
custom_hooks = []
randomness = dict(seed=0, deterministic=False)
