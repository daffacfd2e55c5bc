# AIB on cluttered digits (the demo's model): the plain baseline plus the IB attention neck.
# Compared with resnet18_1xb32_cluttered-digits.py only the lines marked "AIB" change. Three of
# them are this package's, not the paper's (README "Results" measures each; the paper's own
# objective is variants/resnet18_aib-paper_1xb32_cluttered-digits.py): the area price, its warm-up
# and a faster level/contrast for the attention map.
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
        # (0.3 since the bottleneck's He init: the classifier learns faster and needs the map
        # less, and at 0.1 the map then fades on some digits)
        area_weight=0.3,
    ),
    head=dict(in_channels=64),  # AIB: = bottleneck_dim
)
# AIB: accuracy and how well the attention map points at the digit's box
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]
test_evaluator = val_evaluator
# AIB: the attention head's last BN sets the map's level and contrast; at 3x the learning rate
# the map turns sharp (near 0 off the digit) within the 10 epochs
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={"neck.attention.head.bn.": dict(lr_mult=3.0)}))
custom_hooks = [  # AIB: IB statistics in the log, attention overlays as PNG
    dict(type="IBStatsHook", interval=20),
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
    # AIB: the area price rises from 0 over the first 5 epochs (MMPretrain's own hook): the
    # classifier first learns to use the attention on every digit, then the map is pruned
    dict(
        type="WarmupParamHook",
        module_name="neck.objective",
        param_name="area_weight",
        warmup_epochs=5,
    ),
]
