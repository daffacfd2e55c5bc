# CUB-200-2011 as the authors' CUB code reads it (their CUB_crop data): every image cropped to
# the bird's box, train and test, resized to 256 x 256, then a 224 crop (random in training,
# centre in test). CUBWithBoxes is CUB with the bird's box in gt_bbox, for CropToBox.

dataset_type = "CUBWithBoxes"
data_preprocessor = dict(
    num_classes=200,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # convert image from BGR to RGB
    to_rgb=True,
)

train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="CropToBox"),  # AIB: the authors' CUB_crop data
    dict(type="Resize", scale=(256, 256)),
    dict(type="RandomCrop", crop_size=224),
    dict(type="RandomFlip", prob=0.5, direction="horizontal"),
    dict(type="PackInputs"),
]

test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="CropToBox"),  # AIB: the authors' CUB_crop data
    dict(type="Resize", scale=(256, 256)),
    dict(type="CenterCrop", crop_size=224),
    dict(type="PackInputs"),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    dataset=dict(
        type=dataset_type, data_root="data/CUB_200_2011", split="train", pipeline=train_pipeline
    ),
    sampler=dict(type="DefaultSampler", shuffle=True),
)

val_dataloader = dict(
    train_dataloader,
    dataset=dict(train_dataloader["dataset"], split="test", pipeline=test_pipeline),
    sampler=dict(type="DefaultSampler", shuffle=False),
)
val_evaluator = dict(type="Accuracy", topk=(1,))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
