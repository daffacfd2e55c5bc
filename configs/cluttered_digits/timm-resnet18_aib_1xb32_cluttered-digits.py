# timm resnet18_aib on cluttered digits: the attention modulates the input of the last stage
# (the paper's placement), through IBTimmClassifier. Compare with timm-resnet18_1xb32_*.
# Train: python tools/train.py configs/cluttered_digits/timm-resnet18_aib_1xb32_cluttered-digits.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./timm-resnet18_1xb32_cluttered-digits.py"]

model = dict(  # AIB
    type="IBTimmClassifier",
    model_name="resnet18_aib",
    bottleneck_dim=64,
    # a plain area price (not the paper's); the MMPretrain digits config prices the area
    # relative to the map's peak instead (area_mode="relative", 1.0, head_kernel_size=1)
    area_weight=0.1,
)
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]  # AIB
test_evaluator = val_evaluator
custom_hooks = [  # AIB: IB statistics in the log, attention overlays as PNG
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
]
