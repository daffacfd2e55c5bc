# AIB on cluttered digits (the demo's model): the plain baseline plus the IB attention neck.
# Compared with resnet18_1xb32_cluttered-digits.py only the lines marked "AIB" change.
# Train: python tools/train.py configs/cluttered_digits/resnet18_aib_1xb32_cluttered-digits.py

_base_ = ["./resnet18_1xb32_cluttered-digits.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl (and loss_vq, loss_commit)
    neck=dict(  # AIB
        _delete_=True,
        type="IBAttention",
        in_channels=128,
        bottleneck_dim=64,
        # a price on the attended area (this package's option, not the paper's): without it the
        # map keeps an arbitrary level where the features are empty; README "Results" measures it
        area_weight=0.1,
    ),
    head=dict(in_channels=64),  # AIB: = bottleneck_dim
)
# AIB: accuracy and how well the attention map points at the digit's box
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]
test_evaluator = val_evaluator
custom_hooks = [  # AIB: IB statistics in the log, attention overlays as PNG
    dict(type="IBStatsHook", interval=20),
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
]
