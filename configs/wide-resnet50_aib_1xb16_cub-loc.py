# AIB WRN-50-2 on CUB-200-2011 for localization: the authors' CUB setting
# (wide-resnet50_aib_1xb16_cub.py) on full images, since their box crops leave localization
# untested. Training: the authors' full-image CUB pipeline (resize to 256 x 256, random 224
# crop, flip). Test: the whole image resized to 224 x 224 (their localization test transform),
# scored by top-1 and by LocalizationMetric (pointing game, energy in box, box accuracy) against
# the bird's box (CUBWithBoxes' gt_bbox, in original-image pixels).
# Train:  python tools/train.py configs/wide-resnet50_aib_1xb16_cub-loc.py
# Test:   python tools/test.py configs/wide-resnet50_aib_1xb16_cub-loc.py CHECKPOINT

_base_ = ["./wide-resnet50_aib_1xb16_cub.py"]

# the authors' full-image training pipeline: their crop pipeline without its CropToBox
train_pipeline = [step for step in _base_.train_pipeline if step["type"] != "CropToBox"]
# resize only (no crop): LocalizationMetric maps each attention map back to ori_shape
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(224, 224)),
    dict(
        type="PackInputs",
        meta_keys=("sample_idx", "img_path", "ori_shape", "img_shape", "gt_bbox"),
    ),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]
test_evaluator = val_evaluator
