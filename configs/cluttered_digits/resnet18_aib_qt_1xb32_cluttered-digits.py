# AIB quantized on cluttered digits: the AIB config with Q = 20 learnable attention anchors.
# Train: python tools/train.py configs/cluttered_digits/resnet18_aib_qt_1xb32_cluttered-digits.py

_base_ = ["./resnet18_aib_1xb32_cluttered-digits.py"]

model = dict(neck=dict(num_anchors=20))  # AIB quantized: Q anchors
# AIB quantized: the paper trains the anchors at 1e-4 x the learning rate
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={".anchors": dict(lr_mult=1e-4)}))
