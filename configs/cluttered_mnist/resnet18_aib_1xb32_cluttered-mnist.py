# AIB on cluttered MNIST 60x60: the plain baseline (resnet18_1xb32_cluttered-mnist.py) with the
# AIB recipe of the cluttered-digits demo unchanged (its model, hooks and schedule fragments),
# the same settings on every backbone and both datasets (the timm template
# timm-resnet18_aib_1xb32_cluttered-mnist.py carries the same; tests/tools/test_benchmark.py
# checks that the three agree).
# Train: python tools/train.py configs/cluttered_mnist/resnet18_aib_1xb32_cluttered-mnist.py

_base_ = [
    "../_base_/models/resnet18-narrow_aib.py",
    "../_base_/datasets/cluttered-mnist_bs32.py",
    "../_base_/schedules/cluttered-aib_adamw_10e.py",
    "../_base_/short_runtime.py",
]

# AIB: accuracy and how well the attention map points at the digit's box
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]
test_evaluator = val_evaluator
