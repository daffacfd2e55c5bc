# The demo's AIB model with the KL weight beta warmed up too (0 -> 0.01 over the first 5 epochs,
# MMPretrain's WarmupParamHook, the usual VIB practice): does the classifier fit better before
# the bottleneck squeezes it? projects/aib_studies/experiments/variants.md measures it (not on
# accuracy).
# Demo: python tools/demo.py --aib-config \
#   projects/aib_studies/configs/cluttered_digits/resnet18_aib-beta-warmup_1xb32_cluttered-digits.py

_base_ = ["../../../../configs/cluttered_digits/resnet18_aib_1xb32_cluttered-digits.py"]

# MMEngine replaces lists on inheritance: the demo config's hooks restated, plus the beta warm-up
custom_hooks = [
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
    dict(
        type="WarmupParamHook",
        module_name="neck.objective",
        param_name="area_weight",
        warmup_epochs=5,
    ),
    dict(type="WarmupParamHook", module_name="neck.objective", param_name="beta", warmup_epochs=5),
]
