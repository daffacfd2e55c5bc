# The cluttered-data AIB recipe (the demo's model): the narrow ResNet-18 (./resnet18-narrow.py)
# plus the IB attention neck, and the hooks that act on it. Four settings are this package's,
# not the paper's (projects/aib_studies/experiments/ measures each; the paper's own objective is
# projects/aib_studies/configs/cluttered_digits/resnet18_aib-paper_1xb32_cluttered-digits.py):
# the area price (relative to each map's peak, gated by the classifier's confidence, free below
# a tenth of the map), its warm-up, and the attention head's 1x1 last conv; its schedule
# (../schedules/cluttered-aib_adamw_10e.py) adds a faster learning rate for that head's last BN.

_base_ = ["./resnet18-narrow.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl (and loss_vq, loss_commit)
    # the paper's placement, as the timm models have it: the attention modulates the input of
    # the last stage (8x8, 64 channels), which then encodes the modulated map; the neck pools
    # the last stage's output (128 channels, inferred); experiments/attention_placement.md
    attention_at="layer4",
    neck=dict(  # AIB
        _delete_=True,
        type="IBAttention",
        in_channels=64,
        bottleneck_dim=64,
        # a price on the attended area (this package's option, not the paper's): without it the
        # map keeps an arbitrary level where the features are empty. Priced against each map's
        # own peak, mean(mu_a) / max(mu_a), which sharpens a map instead of fading it (the plain
        # area mean(mu_a) fades it): experiments/relative_area_price.md
        area_weight=1.0,
        area_mode="relative",
        # scaled by the classifier's confidence on the batch (area_gate): no sharpening onto a
        # spot before the classifier tells the classes apart (experiments/confidence_gate.md);
        # the first tenth of the map is free (area_free), so it does not shrink to one cell
        area_gate="confidence",
        area_free=0.1,
        # the light head's last conv is 1x1, not 3x3: each cell's attention comes from that
        # cell's own features, so a sharp map cannot settle on a cell beside the digit
        # (experiments/head_1x1.md)
        head_kernel_size=1,
    ),
    head=dict(in_channels=64),  # AIB: = bottleneck_dim
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
