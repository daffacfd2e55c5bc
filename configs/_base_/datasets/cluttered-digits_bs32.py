# Cluttered digits: 64x64 gray canvases generated in memory from scikit-learn's digits (no
# download), each with one digit among clutter; 3,000 training and 500 test images. Each sample
# carries the digit's box (gt_bbox) for LocalizationMetric.

data_preprocessor = dict(num_classes=10, mean=[20.0] * 3, std=[50.0] * 3, to_rgb=False)

dataset_type = "ClutteredDigits"
data_args = dict(canvas=64, digit_scale=3, num_distractors=6, distractor_size=10, seed=0)
pack = dict(type="PackInputs", meta_keys=("sample_idx", "img_shape", "ori_shape", "gt_bbox"))

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type=dataset_type, split="train", num_images=3000, pipeline=[pack], **data_args),
    sampler=dict(type="DefaultSampler", shuffle=True),
)
val_dataloader = dict(
    train_dataloader,
    batch_size=100,
    dataset=dict(type=dataset_type, split="test", num_images=500, pipeline=[pack], **data_args),
    sampler=dict(type="DefaultSampler", shuffle=False),
)
val_evaluator = [dict(type="Accuracy", topk=(1,))]
test_dataloader = val_dataloader
test_evaluator = val_evaluator
