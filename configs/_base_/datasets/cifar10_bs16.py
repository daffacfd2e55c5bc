# CIFAR-10 (MMPretrain's cifar10_bs16.py; train crops padded by reflection, test batches of 100)

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
