# AIB on cluttered MNIST 60x60: the plain baseline plus the IB attention neck, with the AIB recipe
# of the cluttered-digits demo unchanged (configs/cluttered_digits/resnet18_aib_1xb32_*.py: the
# issue's one recipe, the same settings on every backbone and both datasets; the timm template
# timm_aib_1xb32_cluttered-mnist.py carries the same; tests/tools/test_benchmark.py checks that
# the three agree). Only the lines marked "AIB" differ from resnet18_1xb32_cluttered-mnist.py.
# Train: python tools/train.py configs/cluttered_mnist/resnet18_aib_1xb32_cluttered-mnist.py

_base_ = ["./resnet18_1xb32_cluttered-mnist.py"]

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
        # this package's additions, as in the digits config (docs/experiments/): a price on the
        # attended area relative to each map's peak, scaled by the classifier's confidence and
        # free below a tenth of the map, and a 1x1 last conv in the attention head
        area_weight=1.0,
        area_mode="relative",
        area_gate="confidence",
        area_free=0.1,
        head_kernel_size=1,
    ),
    head=dict(in_channels=64),  # AIB: = bottleneck_dim
)
# AIB: accuracy and how well the attention map points at the digit's box
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]
test_evaluator = val_evaluator
# AIB: the attention head's last BN at 3x the learning rate (level and contrast of the map); the
# attention lives in the backbone now: backbone.layer4.ib_attention.attn.head.bn
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={"ib_attention.attn.head.bn.": dict(lr_mult=3.0)})
)
custom_hooks = [  # AIB: attention overlays as PNG
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
    # AIB: the area price rises from 0 over the first 5 epochs (MMPretrain's own hook)
    dict(
        type="WarmupParamHook",
        module_name="neck.objective",
        param_name="area_weight",
        warmup_epochs=5,
    ),
]
