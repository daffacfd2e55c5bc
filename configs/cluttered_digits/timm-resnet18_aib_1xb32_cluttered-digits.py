# timm resnet18_aib on cluttered digits: the attention modulates the input of the last stage
# (the paper's placement), through IBTimmClassifier. Compare with timm-resnet18_1xb32_*.
# Train: python tools/train.py configs/cluttered_digits/timm-resnet18_aib_1xb32_cluttered-digits.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./timm-resnet18_1xb32_cluttered-digits.py"]

model = dict(  # AIB
    type="IBTimmClassifier",
    model_name="resnet18_aib",
    bottleneck_dim=64,
    # the attended area's price, as measured in projects/aib_studies/cross_backbone.md (the
    # MMPretrain digits config has since moved on: area_mode="relative" at 1.0 and
    # head_kernel_size=1)
    area_weight=0.1,
)
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]  # AIB
test_evaluator = val_evaluator
custom_hooks = [  # AIB: IB statistics in the log, attention overlays as PNG
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
]
