# AIB quantized (Q=20 anchors) ResNet-50 on ImageNet-1k, MMPretrain's ResNet-50 schedule (SGD 0.1,
# 100 epochs, x0.1 at 30/60/90, batch 256)
# The non-quantized config (resnet50_aib_8xb32_in1k.py) plus Q = 20 learnable attention anchors.
# Train:  python tools/train.py configs/resnet50_aib_qt_8xb32_in1k.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./resnet50_aib_8xb32_in1k.py"]

model = dict(neck=dict(num_anchors=20))  # AIB quantized (_qt): Q anchors
# AIB: the paper trains the anchors with 1e-4 x the base learning rate
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={".anchors": dict(lr_mult=1e-4)}))
