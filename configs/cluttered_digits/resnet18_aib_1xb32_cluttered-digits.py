# AIB on cluttered digits (the demo's model): the plain baseline plus the IB attention neck.
# Compared with resnet18_1xb32_cluttered-digits.py only the lines marked "AIB" change. Four of
# them are this package's, not the paper's (docs/experiments/ measures each; the paper's own
# objective is variants/resnet18_aib-paper_1xb32_cluttered-digits.py): the area price (relative
# to each map's peak, gated by the classifier's confidence, free below a tenth of the map), its
# warm-up and a faster level/contrast for the attention map; the attention head's last conv is
# 1x1.
# Train: python tools/train.py configs/cluttered_digits/resnet18_aib_1xb32_cluttered-digits.py

_base_ = ["./resnet18_1xb32_cluttered-digits.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl (and loss_vq, loss_commit)
    neck=dict(  # AIB
        _delete_=True,
        type="IBAttention",
        # the paper's placement, as the timm models have it: the attention modulates the input
        # of the last stage (8x8, 64 channels), which then encodes the modulated map; the neck
        # pools the last stage's output (128 channels, inferred). After the last stage the map
        # settled beside the digit on the full data: docs/experiments/attention_placement.md
        attention_at="layer4",
        in_channels=64,
        bottleneck_dim=64,
        # a price on the attended area (this package's option, not the paper's): without it the
        # map keeps an arbitrary level where the features are empty. Priced against each map's
        # own peak, mean(mu_a) / max(mu_a): the plain area mean(mu_a) lets the map fade on
        # digits the classifier gets right without it (their maxima then often miss the digit);
        # this form sharpens a map instead of fading it. docs/experiments/relative_area_price.md
        # measures both forms and the weights 0.1, 0.3 and 1.0.
        area_weight=1.0,
        area_mode="relative",
        # scaled by the classifier's confidence on the batch (area_gate): no sharpening onto a
        # spot before the classifier tells the classes apart, which fixes the map on a cell that
        # holds no digit (docs/experiments/area_price_off.md, confidence_gate.md); and the first
        # tenth of the map is free (area_free), so long training cannot shrink it to one cell
        area_gate="confidence",
        area_free=0.1,
        # the light head's last conv is 1x1, not 3x3: each cell's attention comes from that
        # cell's own features, so a sharp map cannot settle on a cell beside the digit (with
        # 3x3 it did, for some classes at some seeds); docs/experiments/head_1x1.md measures both
        head_kernel_size=1,
    ),
    head=dict(in_channels=64),  # AIB: = bottleneck_dim
)
# AIB: accuracy and how well the attention map points at the digit's box
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]
test_evaluator = val_evaluator
# AIB: the attention head's last BN sets the map's level and contrast; at 3x the learning rate
# the map turns sharp (near 0 off the digit) within the 10 epochs
# (the attention lives in the backbone: backbone.layer4.ib_attention.attn.head.bn)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={"ib_attention.attn.head.bn.": dict(lr_mult=3.0)})
)
custom_hooks = [  # AIB: attention overlays as PNG
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
