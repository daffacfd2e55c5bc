# Template: a timm '<arch>_aib' model (attention at the input of the last stage, the paper's
# placement) on cluttered MNIST 60x60 through IBTimmClassifier, with the AIB recipe of
# resnet18_aib_1xb32_cluttered-mnist.py (the digits demo's, unchanged) in timm's module names.
# model_name ('<arch>_aib' or '<arch>_aib_qt') and the model's own keywords are overridden per
# backbone; an architecture without a built-in '<arch>_aib' needs
# aib_plugin.register_aib_model('<arch>') in the process first (tools/benchmark.py quality does).

_base_ = ["./timm-resnet18_1xb32_cluttered-mnist.py"]

model = dict(  # AIB
    type="IBTimmClassifier",
    model_name="resnet18_aib",  # overridden per backbone
    bottleneck_dim=64,
    area_weight=1.0,  # the recipe's area price, relative to each map's peak
    area_mode="relative",
    area_gate="confidence",  # scaled by the classifier's confidence on the batch
    area_free=0.1,  # free below a tenth of the map
    head_kernel_size=1,  # the attention head's last conv
)
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]  # AIB
test_evaluator = val_evaluator
# AIB: the attention head's last BN at 3x the learning rate (timm: <stage>.ib_attention.attn.head)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={"ib_attention.attn.head.bn.": dict(lr_mult=3.0)})
)
custom_hooks = [  # AIB: attention overlays as PNG
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
    # AIB: the area price rises from 0 over the first 5 epochs (the timm model's objective)
    dict(
        type="WarmupParamHook",
        module_name="model.objective",
        param_name="area_weight",
        warmup_epochs=5,
    ),
]
